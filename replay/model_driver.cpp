#include "model_driver.h"

#include "tlsheap/trace_meta.h"

#include <algorithm>
#include <string>

namespace tlsheap::replay {

namespace {

constexpr unsigned kMaxModels = 8;

} // namespace

ModelDriver::ModelDriver(const ReplayOptions& options, const RealPoolCheck& real_pool)
    : options_(options), real_pool_(real_pool) {
    if (options.models.size() > kMaxModels) {
        throw ModelError("at most " + std::to_string(kMaxModels) +
                         " models can be replayed at once");
    }
}

void ModelDriver::start(const trace::TraceInfo& info) {
    started_ = true;
    ModelContext context;
    context.pointer_size = info.pointer_size();
    context.pool_size = options_.pool_size;
    for (const ModelSpec& spec : options_.models) {
        Slot slot;
        slot.model = make_model(spec, context);
        slot.run.name = slot.model->name();
        slot.run.description = slot.model->description();
        slot.run.pool_size = options_.pool_size;
        slot.run.placement_independent_of_pool_end =
            slot.model->placement_independent_of_pool_end();
        slot.compare_with_real_pool = RealPoolCheck::applies(*slot.model, info);
        if (options_.pool_size && options_.heap_verdicts) {
            slot.heap.emplace(*slot.model, *options_.pool_size);
        }
        slot.run.compared_with_real_pool = slot.compare_with_real_pool;
        slots_.push_back(std::move(slot));
    }
    visible_ = slots_.size();
    // The real pool is bounded: compare with the model in a pool of its size.
    const std::uint64_t real_pool = trace::meta_number(info.meta(trace::meta::kPoolSize));
    for (std::size_t i = 0; i < visible_; ++i) {
        Slot& slot = slots_[i];
        if (!slot.compare_with_real_pool) {
            continue;
        }
        slot.run.real_pool_size = real_pool;
        if (real_pool == 0 || options_.pool_size == real_pool) {
            continue;
        }
        ModelContext bounded = context;
        bounded.pool_size = real_pool;
        Slot copy;
        try {
            copy.model = make_model(options_.models[i], bounded);
        } catch (const ModelError&) {
            continue; // a pool the model refuses: compared as it runs
        }
        copy.compare_with_real_pool = true;
        copy.comparison_copy = true;
        copy.copy_of = i;
        slot.compare_with_real_pool = false;
        slots_.push_back(std::move(copy));
    }
}

std::uint64_t* ModelDriver::offsets(std::uint32_t block_slot) {
    return offsets_.data() + std::size_t{block_slot} * slots_.size();
}

std::uint64_t* ModelDriver::fresh_offsets(std::uint32_t block_slot, std::uint32_t slot_capacity) {
    // Grown ahead of the walker so that a long trace resizes rarely.
    if (std::size_t{slot_capacity} * slots_.size() > offsets_.size()) {
        offsets_.resize(std::size_t{slot_capacity} * slots_.size() * 2);
    }
    std::uint64_t* placed = offsets(block_slot);
    std::fill(placed, placed + slots_.size(), kNotPlaced);
    return placed;
}

void ModelDriver::place_nowhere(std::uint32_t block_slot, std::uint32_t slot_capacity) {
    fresh_offsets(block_slot, slot_capacity);
}

const std::uint64_t* ModelDriver::allocate(const trace::Record& r, std::uint64_t bytes,
                                           const Moment& m, std::uint32_t block_slot,
                                           std::uint32_t slot_capacity) {
    std::uint64_t* placed = fresh_offsets(block_slot, slot_capacity);
    ++allocations_;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& slot = slots_[i];
        const std::optional<std::uint64_t> offset = slot.model->allocate(bytes);
        if (slot.compare_with_real_pool) {
            real_pool_.compare(slot.run, r, offset);
        }
        if (slot.comparison_copy) {
            placed[i] = offset.value_or(kNotPlaced);
            continue;
        }
        if (offset) {
            placed[i] = *offset;
        } else {
            ++slot.run.failure_count;
            if (slot.run.failures.size() < options_.max_findings) {
                slot.run.failures.push_back({m, bytes});
            }
        }
        if (slot.heap) {
            slot.heap->after_allocation(*slot.model, offset.has_value(), m, bytes, allocations_);
        }
        after_event(slot, m, offset.has_value());
    }
    return placed;
}

void ModelDriver::release(std::uint32_t block_slot, const Moment& m) {
    const std::uint64_t* placed = offsets(block_slot);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (placed[i] != kNotPlaced) {
            slots_[i].model->release(placed[i]);
            // A free never raises the footprint: only the invariants to check.
            if (options_.verify_every_event && !slots_[i].comparison_copy) {
                after_event(slots_[i], m, false);
            }
        }
    }
}

void ModelDriver::after_event(Slot& slot, const Moment& m, bool grew) {
    AllocatorModel& model = *slot.model;
    ModelRun& run = slot.run;
    const std::uint64_t footprint = model.footprint();
    if (footprint > run.footprint) {
        run.footprint = footprint;
        run.footprint_raised = m;
        run.free_at_footprint_peak = model.free_bytes_below_footprint();
        run.largest_free_at_footprint_peak = model.largest_free_block_below_footprint();
    }
    if (grew) {
        const std::uint64_t used = model.used_bytes();
        if (used > run.used_peak.bytes) {
            run.used_peak = {used, m};
        }
        Peak& pp = run.phase_used_peak[static_cast<unsigned>(m.phase)];
        if (used > pp.bytes) {
            pp = {used, m};
        }
        if (m.phase == Phase::Handshake) {
            if (m.state >= slot.state_used_peak.size()) {
                slot.state_used_peak.resize(m.state + 1);
            }
            Peak& sp = slot.state_used_peak[m.state];
            if (used > sp.bytes) {
                sp = {used, m};
            }
        }
    }
    if (options_.verify_every_event && run.invariant_violation.empty()) {
        std::string problem = model.verify();
        if (!problem.empty()) {
            run.invariant_violation = "after event " + std::to_string(m.seq) + ": " + problem;
        }
    }
}

void ModelDriver::note_live_peak() {
    for (std::size_t i = 0; i < visible_; ++i) {
        Slot& slot = slots_[i];
        slot.run.footprint_at_live_peak = slot.model->footprint();
    }
}

void ModelDriver::end_phase(Phase phase) {
    for (std::size_t i = 0; i < visible_; ++i) {
        Slot& slot = slots_[i];
        slot.run.phase_footprint_end[static_cast<unsigned>(phase)] = slot.model->footprint();
    }
}

void ModelDriver::note_handshake_done() {
    for (std::size_t i = 0; i < visible_; ++i) {
        Slot& slot = slots_[i];
        slot.run.used_after_handshake = slot.model->used_bytes();
    }
}

void ModelDriver::finish(std::vector<ModelRun>& runs) {
    for (std::size_t i = visible_; i < slots_.size(); ++i) {
        const Slot& copy = slots_[i];
        ModelRun& run = slots_[copy.copy_of].run;
        run.real_pool_matches = copy.run.real_pool_matches;
        run.real_pool_mismatches = copy.run.real_pool_mismatches;
        run.first_mismatch = copy.run.first_mismatch;
        if (const std::string problem = copy.model->verify();
            !problem.empty() && run.invariant_violation.empty()) {
            run.invariant_violation = "in the real pool's size, at the end: " + problem;
        }
    }
    for (std::size_t i = 0; i < visible_; ++i) {
        Slot& slot = slots_[i];
        for (std::uint32_t state = 0; state < slot.state_used_peak.size(); ++state) {
            if (slot.state_used_peak[state].bytes > 0) {
                slot.run.state_used_peak[state] = slot.state_used_peak[state];
            }
        }
        slot.run.statistics = slot.model->statistics();
        if (slot.heap) {
            slot.run.heap = slot.heap->verdict();
        }
        if (slot.run.placement_independent_of_pool_end) {
            slot.run.min_pool_one_pass = slot.model->min_pool_after_replay();
        }
        const std::string problem = slot.model->verify();
        if (slot.run.invariant_violation.empty() && !problem.empty()) {
            slot.run.invariant_violation = "at the end: " + problem;
        }
        runs.push_back(std::move(slot.run));
    }
}

} // namespace tlsheap::replay
