#include "tlsheap/replay_engine.h"

#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_walker.h"

#include <algorithm>
#include <limits>
#include <memory>

namespace tlsheap::replay {

namespace {

using trace::FreeKind;
using trace::LiveAllocation;
using trace::Record;
using trace::Tag;

constexpr unsigned kMaxModels = 8;
constexpr std::uint64_t kNotPlaced = std::numeric_limits<std::uint64_t>::max();

struct ModelSlot {
    std::unique_ptr<AllocatorModel> model;
    ModelRun run;
    bool compare_with_real_pool = false;
    std::vector<Peak> state_used_peak; // by state id; ModelRun's map is filled at the end
};

class Engine final : public trace::WalkerHooks {
  public:
    Engine(const ReplayOptions& options, ReplayResult& result)
        : options_(options), result_(result) {
        if (options.models.size() > kMaxModels) {
            throw ModelError("at most " + std::to_string(kMaxModels) +
                             " models can be replayed at once");
        }
    }

    void run(RecordSource& reader) {
        walker_.walk(reader, *this);
        ensure_models();
        finish(reader);
    }

  private:
    const trace::TraceInfo& info() const { return walker_.info(); }
    // Each model's offset for a live block, by the walker's slot.
    std::uint64_t* offsets(std::uint32_t slot) {
        return offsets_.data() + std::size_t{slot} * slots_.size();
    }

    void on_description(const Record& r) override {
        if (r.tag == Tag::Meta && r.key == trace::meta::kPoolBase) {
            pool_base_ = std::stoull(r.value);
        }
    }

    Moment moment(const Record& r) const {
        Moment m;
        m.seq = r.seq;
        m.time_ns = r.time_ns;
        m.phase = walker_.phase();
        m.state = walker_.state();
        m.stack = r.stack;
        return m;
    }

    // Models are built at the first event: by then the trace has said what
    // ABI it was recorded on, and headers follow its pointer size.
    void ensure_models() {
        if (models_ready_) {
            return;
        }
        models_ready_ = true;
        ModelContext context;
        context.pointer_size = info().pointer_size();
        context.pool_size = options_.pool_size;
        for (const ModelSpec& spec : options_.models) {
            ModelSlot slot;
            slot.model = make_model(spec, context);
            slot.run.name = slot.model->name();
            slot.run.description = slot.model->description();
            slot.run.pool_size = options_.pool_size;
            slot.run.placement_independent_of_pool_end =
                slot.model->placement_independent_of_pool_end();
            // A transformed stream is no longer what the real pool served.
            slot.compare_with_real_pool =
                slot.run.name == "mbedtls-pool" &&
                info().meta(trace::meta::kAllocator) == trace::meta::kAllocatorMemoryBufferAlloc &&
                !info().meta(trace::meta::kPoolBase).empty() &&
                info().meta(trace::meta::kTransform).empty();
            slot.run.compared_with_real_pool = slot.compare_with_real_pool;
            slots_.push_back(std::move(slot));
        }
        series_used_max_.assign(slots_.size(), 0);
    }

    // The figures of the state being processed, resolved once per state change.
    StateFigures& current_state() {
        if (current_state_index_ == kNoState ||
            result_.states[current_state_index_].state != walker_.state()) {
            state_figures(walker_.state());
            current_state_index_ = state_index_[walker_.state()];
        }
        return result_.states[current_state_index_];
    }

    // Figures of a handshake state, created in the order states are first
    // seen. Indexed by state id (mbedTLS has a few dozen states).
    StateFigures& state_figures(std::uint32_t state) {
        if (state >= state_index_.size()) {
            state_index_.resize(state + 1, kNoState);
        }
        if (state_index_[state] == kNoState) {
            state_index_[state] = result_.states.size();
            result_.states.push_back({});
            result_.states.back().state = state;
        }
        return result_.states[state_index_[state]];
    }

    void note_live(const Moment& m) {
        PhaseFigures& phase = result_.phases[static_cast<unsigned>(walker_.phase())];
        if (walker_.live_bytes() > phase.peak.bytes) {
            phase.peak = {walker_.live_bytes(), m};
        }
        if (walker_.phase() == Phase::Handshake) {
            StateFigures& s = current_state();
            if (walker_.live_bytes() > s.peak.bytes) {
                s.peak = {walker_.live_bytes(), m};
            }
        }
        if (walker_.phase() == Phase::Application) {
            result_.application_peak = std::max(result_.application_peak, walker_.live_bytes());
        }
        if (walker_.live_bytes() > result_.live_peak.bytes) {
            result_.live_peak = {walker_.live_bytes(), m};
            // Blocks alive at the new peak are collected as they die (or at
            // the end); what was gathered for the previous peak is void.
            peak_sites_.clear();
            for (ModelSlot& slot : slots_) {
                slot.run.footprint_at_live_peak = slot.model->footprint();
            }
        }
    }

    void add_to_peak(const LiveAllocation& block, std::uint64_t seq) {
        if (seq > result_.live_peak.at.seq) {
            return;
        }
        const trace::CallSite site = info().call_site(block.stack);
        auto& entry = peak_sites_[site.label()];
        entry.site = site.label();
        entry.stack = entry.stack == 0 ? block.stack : entry.stack;
        entry.bytes += block.size;
        entry.blocks += 1;
    }

    void model_event(ModelSlot& slot, const Moment& m, bool grew) {
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
            std::uint64_t& bucket_max =
                series_used_max_[static_cast<std::size_t>(&slot - slots_.data())];
            bucket_max = std::max(bucket_max, used);
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

    void on_alloc(const Record& r, const LiveAllocation* block, std::uint32_t slot) override {
        ensure_models();
        ++result_.events;
        current_time_ns_ = r.time_ns;
        const Moment m = moment(r);
        const std::uint64_t bytes = r.count * r.size;
        const bool overflow = r.size != 0 && bytes / r.size != r.count;
        PhaseFigures& phase = result_.phases[static_cast<unsigned>(walker_.phase())];
        phase.seen = true;
        if (block == nullptr) {
            // The recorded allocator said NULL (a real pool ran out, or a
            // zero/overflowing request): nothing was allocated.
            if (bytes != 0 && !overflow) {
                ++result_.failed_allocs;
                finding(Finding::Kind::FailedAllocation, m, bytes,
                        "allocation of " + std::to_string(bytes) + " bytes returned NULL");
            }
            advance_series(r.seq);
            return;
        }
        ++result_.allocs;
        ++phase.allocs;
        if (walker_.phase() == Phase::Handshake) {
            StateFigures& s = current_state();
            ++s.allocs;
            s.bytes_allocated += bytes;
        }
        phase.bytes_allocated += bytes;
        result_.bytes_allocated += bytes;

        if (std::size_t{walker_.slot_capacity()} * slots_.size() > offsets_.size()) {
            offsets_.resize(std::size_t{walker_.slot_capacity()} * slots_.size() * 2);
        }
        std::uint64_t* placed = offsets(slot);
        std::fill(placed, placed + slots_.size(), kNotPlaced);

        if (bytes == 0 || overflow) {
            // The host's calloc returned memory for an empty request; on an
            // embedded heap the same call returns NULL, so no model places it.
            ++result_.zero_size_allocs;
        } else {
            for (std::size_t i = 0; i < slots_.size(); ++i) {
                ModelSlot& slot = slots_[i];
                const std::optional<std::uint64_t> offset = slot.model->allocate(bytes);
                if (slot.compare_with_real_pool) {
                    compare_with_real(slot, r, offset);
                }
                if (offset) {
                    placed[i] = *offset;
                } else {
                    ++slot.run.failure_count;
                    if (slot.run.failures.size() < options_.max_findings) {
                        slot.run.failures.push_back({m, bytes});
                    }
                }
                model_event(slot, m, offset.has_value());
            }
        }
        note_live(m);
        advance_series(r.seq);
    }

    // A trace recorded on the real memory_buffer_alloc holds the real
    // allocator's answers: the model must give the same, to the byte.
    void compare_with_real(ModelSlot& slot, const Record& r,
                           const std::optional<std::uint64_t>& offset) {
        ModelRun& run = slot.run;
        const std::uint64_t real = r.address - pool_base_;
        if (offset && *offset == real) {
            ++run.real_pool_matches;
            return;
        }
        ++run.real_pool_mismatches;
        if (run.first_mismatch.empty()) {
            run.first_mismatch =
                "event " + std::to_string(r.seq) + ": " + std::to_string(r.count * r.size) +
                " bytes, the real allocator gave offset " + std::to_string(real) + ", the model " +
                (offset ? std::to_string(*offset) : std::string("NULL"));
        }
    }

    void on_free(const Record& r, FreeKind kind, const LiveAllocation* block,
                 std::uint32_t slot) override {
        ensure_models();
        ++result_.events;
        current_time_ns_ = r.time_ns;
        const Moment m = moment(r);
        if (kind == FreeKind::Null) {
            ++result_.null_frees;
            advance_series(r.seq);
            return;
        }
        if (kind != FreeKind::Known) {
            const bool twice = kind == FreeKind::DoubleFree;
            finding(twice ? Finding::Kind::DoubleFree : Finding::Kind::UnknownFree, m, 0,
                    twice ? "free of a block that was already freed"
                          : "free of an address that was never allocated");
            advance_series(r.seq);
            return;
        }
        ++result_.frees;
        PhaseFigures& phase = result_.phases[static_cast<unsigned>(walker_.phase())];
        phase.seen = true;
        ++phase.frees;
        if (walker_.phase() == Phase::Handshake) {
            ++current_state().frees;
        }
        const std::uint64_t* placed = offsets(slot);
        add_to_peak(*block, r.alloc_seq);
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (placed[i] != kNotPlaced) {
                slots_[i].model->release(placed[i]);
                // A free never raises the footprint: only the invariants to check.
                if (options_.verify_every_event) {
                    model_event(slots_[i], m, false);
                }
            }
        }
        advance_series(r.seq);
    }

    void on_phase(const Record& r, Phase previous) override {
        result_.phases[static_cast<unsigned>(previous)].live_at_end = walker_.live_bytes();
        for (ModelSlot& slot : slots_) {
            slot.run.phase_footprint_end[static_cast<unsigned>(previous)] = slot.model->footprint();
        }
        if (previous == Phase::Handshake && r.phase == Phase::Application) {
            // The steady state: what one connection holds once the handshake is over.
            result_.live_after_handshake = walker_.live_bytes();
            for (ModelSlot& slot : slots_) {
                slot.run.used_after_handshake = slot.model->used_bytes();
            }
        }
        {
            // What is alive when a phase begins counts toward its peak.
            PhaseFigures& next = result_.phases[static_cast<unsigned>(walker_.phase())];
            next.seen = true;
            if (walker_.live_bytes() > next.peak.bytes) {
                Moment m;
                m.seq = result_.events;
                m.phase = walker_.phase();
                m.state = walker_.state();
                next.peak = {walker_.live_bytes(), m};
            }
        }
        if (walker_.phase() == Phase::Application) {
            result_.application_peak = std::max(result_.application_peak, walker_.live_bytes());
        }
        if (walker_.phase() == Phase::Teardown) {
            result_.teardown_reached = true;
        }
    }

    void on_context(const Record& r) override {
        switch (r.tag) {
        case Tag::StepBegin: {
            StateFigures& s = state_figures(walker_.state());
            ++s.steps;
            if (walker_.live_bytes() > s.peak.bytes || s.steps == 1) {
                Moment m;
                m.seq = result_.events;
                m.phase = walker_.phase();
                m.state = walker_.state();
                if (walker_.live_bytes() > s.peak.bytes) {
                    s.peak = {walker_.live_bytes(), m};
                }
            }
            break;
        }
        case Tag::Role: {
            if (const LiveAllocation* block = walker_.live(r.role_seq)) {
                BufferRole role;
                role.role = r.role;
                role.block.seq = r.role_seq;
                role.block.size = block->size;
                role.block.at.seq = r.role_seq;
                role.block.at.phase = block->phase;
                role.block.at.state = block->state;
                role.block.at.stack = block->stack;
                result_.record_buffers.push_back(role);
            }
            break;
        }
        case Tag::TlsRecord: {
            const unsigned d = static_cast<unsigned>(r.direction);
            ++result_.records.count[d];
            result_.records.bytes[d] += r.length;
            result_.records.largest[d] = std::max(result_.records.largest[d], r.length);
            break;
        }
        case Tag::Outcome:
            result_.outcomes.push_back({r.outcome, r.ret, r.state, r.value});
            break;
        case Tag::PoolStats:
            result_.pool_stats = r.values;
            break;
        default:
            break;
        }
    }

    void finding(Finding::Kind kind, const Moment& m, std::uint64_t size, std::string message) {
        if (result_.findings.size() < options_.max_findings) {
            result_.findings.push_back({kind, m, size, std::move(message)});
        }
    }

    // Time series: buckets of `stride_` events; when there are twice as many
    // buckets as asked for, neighbours merge and the stride doubles, so
    // memory stays fixed however long the trace. Per event only the live
    // maximum is kept; the rest is read when a bucket closes.
    void advance_series(std::uint64_t seq) {
        last_time_ns_ = std::max(last_time_ns_, current_time_ns_);
        if (seq > bucket_end_) {
            close_bucket();
            open_bucket(seq);
        }
        bucket_seq_ = seq;
        bucket_live_max_ = std::max(bucket_live_max_, walker_.live_bytes());
    }

    void open_bucket(std::uint64_t seq) {
        if (series_.size() >= 2 * std::max(1u, options_.series_points)) {
            merge_buckets();
        }
        const std::uint64_t bucket = (seq - 1) / stride_;
        bucket_end_ = (bucket + 1) * stride_;
        bucket_live_max_ = walker_.live_bytes();
        series_used_max_.assign(slots_.size(), 0);
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            series_used_max_[i] = slots_[i].model->used_bytes();
        }
        bucket_open_ = true;
    }

    void close_bucket() {
        if (!bucket_open_) {
            return;
        }
        SeriesPoint p;
        p.seq = bucket_seq_;
        p.live = walker_.live_bytes();
        p.live_max = bucket_live_max_;
        p.used_max = series_used_max_;
        p.footprint.resize(slots_.size());
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            p.footprint[i] = slots_[i].model->footprint();
        }
        series_.push_back(std::move(p));
        bucket_open_ = false;
    }

    void merge_buckets() {
        std::vector<SeriesPoint> merged;
        merged.reserve(series_.size() / 2 + 1);
        for (std::size_t i = 0; i < series_.size(); i += 2) {
            if (i + 1 == series_.size()) {
                merged.push_back(std::move(series_[i]));
                break;
            }
            SeriesPoint p = std::move(series_[i + 1]);
            p.live_max = std::max(series_[i].live_max, p.live_max);
            for (std::size_t k = 0; k < p.used_max.size(); ++k) {
                p.used_max[k] = std::max(series_[i].used_max[k], p.used_max[k]);
            }
            merged.push_back(std::move(p));
        }
        series_.swap(merged);
        stride_ *= 2;
    }

    void finish(RecordSource& reader) {
        close_bucket();
        result_.complete = reader.complete();
        result_.truncated = reader.truncated();
        result_.truncation_message = reader.truncation_message();
        result_.phases[static_cast<unsigned>(walker_.phase())].live_at_end = walker_.live_bytes();
        for (ModelSlot& slot : slots_) {
            slot.run.phase_footprint_end[static_cast<unsigned>(walker_.phase())] =
                slot.model->footprint();
        }
        // Blocks still alive: part of the peak if allocated before it, and
        // leaks if the recording reached its teardown.
        for (const LiveAllocation* block : walker_.live_in_seq_order()) {
            add_to_peak(*block, block->seq);
            if (result_.teardown_reached) {
                Block leak;
                leak.seq = block->seq;
                leak.size = block->size;
                leak.at.seq = block->seq;
                leak.at.time_ns = block->time_ns;
                leak.at.phase = block->phase;
                leak.at.state = block->state;
                leak.at.stack = block->stack;
                result_.leaks.push_back(leak);
                result_.leaked_bytes += block->size;
            }
        }
        for (auto& [label, entry] : peak_sites_) {
            result_.alive_at_peak.push_back(entry);
        }
        std::sort(result_.alive_at_peak.begin(), result_.alive_at_peak.end(),
                  [](const SiteBytes& a, const SiteBytes& b) {
                      return a.bytes != b.bytes ? a.bytes > b.bytes : a.site < b.site;
                  });
        if (!series_.empty()) {
            result_.series = std::move(series_);
        }
        for (ModelSlot& slot : slots_) {
            for (std::uint32_t state = 0; state < slot.state_used_peak.size(); ++state) {
                if (slot.state_used_peak[state].bytes > 0) {
                    slot.run.state_used_peak[state] = slot.state_used_peak[state];
                }
            }
            slot.run.statistics = slot.model->statistics();
            if (slot.run.placement_independent_of_pool_end) {
                slot.run.min_pool_one_pass = slot.model->min_pool_after_replay();
            }
            const std::string problem = slot.model->verify();
            if (slot.run.invariant_violation.empty() && !problem.empty()) {
                slot.run.invariant_violation = "at the end: " + problem;
            }
            result_.models.push_back(std::move(slot.run));
        }
        if (result_.events > 0) {
            result_.duration_ns = last_time_ns_;
        }
        result_.info = walker_.take_info();
    }

    const ReplayOptions& options_;
    ReplayResult& result_;
    std::vector<ModelSlot> slots_;
    bool models_ready_ = false;
    trace::TraceWalker walker_;
    std::vector<std::uint64_t> offsets_; // slots x models, kNotPlaced where a model failed
    static constexpr std::size_t kNoState = ~std::size_t{0};
    std::vector<std::size_t> state_index_;
    std::size_t current_state_index_ = kNoState;
    std::unordered_map<std::string, SiteBytes> peak_sites_;
    std::vector<SeriesPoint> series_;
    std::vector<std::uint64_t> series_used_max_;
    std::uint64_t stride_ = 1;
    std::uint64_t bucket_end_ = 0;
    std::uint64_t bucket_seq_ = 0;
    std::uint64_t bucket_live_max_ = 0;
    bool bucket_open_ = false;
    std::uint64_t pool_base_ = 0;
    std::uint64_t last_time_ns_ = 0;
    std::uint64_t current_time_ns_ = 0;
};

} // namespace

const Outcome* ReplayResult::handshake_outcome() const {
    for (const Outcome& o : outcomes) {
        if (o.kind == trace::OutcomeKind::Handshake) {
            return &o;
        }
    }
    return nullptr;
}

const Outcome* ReplayResult::failure() const {
    for (const Outcome& o : outcomes) {
        if (o.kind == trace::OutcomeKind::Failure) {
            return &o;
        }
    }
    return nullptr;
}

ReplayResult replay_trace(RecordSource& source, const ReplayOptions& options) {
    ReplayResult result;
    Engine engine(options, result);
    engine.run(source);
    return result;
}

ReplayResult replay_trace(trace::TraceReader& reader, const ReplayOptions& options) {
    TraceReaderSource source(reader);
    return replay_trace(source, options);
}

} // namespace tlsheap::replay
