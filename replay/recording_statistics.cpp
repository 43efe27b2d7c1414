#include "recording_statistics.h"

#include "tlsheap/trace_meta.h"

#include <algorithm>

namespace tlsheap::replay {

using trace::FreeKind;
using trace::LiveAllocation;
using trace::Record;
using trace::Tag;

RecordingStatistics::RecordingStatistics(const trace::TraceWalker& walker,
                                         const ReplayOptions& options, ReplayResult& result)
    : walker_(walker), options_(options), result_(result) {}

void RecordingStatistics::count_event(const Record& r) {
    ++result_.events;
    last_time_ns_ = std::max(last_time_ns_, r.time_ns);
}

// The figures of the state being processed, resolved once per state change.
StateFigures& RecordingStatistics::current_state() {
    if (current_state_index_ == kNoState ||
        result_.states[current_state_index_].state != walker_.state()) {
        state_figures(walker_.state());
        current_state_index_ = state_index_[walker_.state()];
    }
    return result_.states[current_state_index_];
}

// Figures of a handshake state, created in the order states are first
// seen. Indexed by state id (mbedTLS has a few dozen states).
StateFigures& RecordingStatistics::state_figures(std::uint32_t state) {
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

void RecordingStatistics::on_null_alloc(const Moment& m, std::uint64_t bytes, bool overflow) {
    result_.phases[static_cast<unsigned>(walker_.phase())].seen = true;
    // A real pool ran out, or a zero/overflowing request: only the first is
    // a failure.
    if (bytes != 0 && !overflow) {
        ++result_.failed_allocs;
        finding(Finding::Kind::FailedAllocation, m, bytes,
                "allocation of " + std::to_string(bytes) + " bytes returned NULL");
    }
}

void RecordingStatistics::on_alloc(std::uint32_t stack, std::uint64_t bytes, bool overflow) {
    if (options_.stack_tables) {
        StackBytes& by_stack = allocated_stacks_[stack];
        by_stack.stack = stack;
        by_stack.bytes += bytes;
        by_stack.blocks += 1;
    }
    PhaseFigures& phase = result_.phases[static_cast<unsigned>(walker_.phase())];
    phase.seen = true;
    ++result_.allocs;
    ++phase.allocs;
    if (walker_.phase() == Phase::Handshake) {
        StateFigures& s = current_state();
        ++s.allocs;
        s.bytes_allocated += bytes;
    }
    phase.bytes_allocated += bytes;
    result_.bytes_allocated += bytes;
    if (bytes == 0 || overflow) {
        // The host's calloc returned memory for an empty request; on an
        // embedded heap the same call returns NULL.
        ++result_.zero_size_allocs;
    }
}

void RecordingStatistics::note_live(const Moment& m) {
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
    if (walker_.live_bytes() <= result_.live_peak.bytes) {
        return;
    }
    result_.live_peak = {walker_.live_bytes(), m};
    // Blocks alive at the new peak are collected as they die (or at the
    // end); what was gathered for the previous peak is void.
    peak_sites_.clear();
    peak_stacks_.clear();
}

void RecordingStatistics::add_to_peak(const LiveAllocation& block, std::uint64_t seq) {
    if (seq > result_.live_peak.at.seq) {
        return;
    }
    const trace::CallSite site = walker_.info().call_site(block.stack);
    auto& entry = peak_sites_[site.label()];
    entry.site = site.label();
    entry.stack = entry.stack == 0 ? block.stack : entry.stack;
    entry.bytes += block.size;
    entry.blocks += 1;
    if (options_.stack_tables) {
        StackBytes& by_stack = peak_stacks_[block.stack];
        by_stack.stack = block.stack;
        by_stack.bytes += block.size;
        by_stack.blocks += 1;
    }
}

void RecordingStatistics::on_free(const Record& r, FreeKind kind, const LiveAllocation* block,
                                  const Moment& m) {
    if (kind == FreeKind::Null) {
        ++result_.null_frees;
        return;
    }
    if (kind != FreeKind::Known) {
        const bool twice = kind == FreeKind::DoubleFree;
        finding(twice ? Finding::Kind::DoubleFree : Finding::Kind::UnknownFree, m, 0,
                twice ? "free of a block that was already freed"
                      : "free of an address that was never allocated");
        return;
    }
    ++result_.frees;
    PhaseFigures& phase = result_.phases[static_cast<unsigned>(walker_.phase())];
    phase.seen = true;
    ++phase.frees;
    if (walker_.phase() == Phase::Handshake) {
        ++current_state().frees;
    }
    add_to_peak(*block, r.alloc_seq);
}

void RecordingStatistics::on_phase(const Record& r, Phase previous) {
    in_step_ = false;
    result_.phases[static_cast<unsigned>(previous)].live_at_end = walker_.live_bytes();
    if (previous == Phase::Handshake && r.phase == Phase::Application) {
        // The steady state: what one connection holds once the handshake is over.
        result_.live_after_handshake = walker_.live_bytes();
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

void RecordingStatistics::on_context(const Record& r) {
    switch (r.tag) {
    case Tag::StepBegin: {
        in_step_ = true;
        StateFigures& s = state_figures(walker_.state());
        ++s.steps;
        steps_of_connection_.resize(walker_.connection_count());
        ++steps_of_connection_[walker_.connection()];
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
    case Tag::StepEnd:
        in_step_ = false;
        break;
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
            role.block.at.connection = block->connection;
            result_.record_buffers.push_back(role);
        }
        break;
    }
    case Tag::TlsRecord:
        result_.records.add(r.direction, r.length, r.flags);
        break;
    case Tag::Outcome: {
        const std::uint32_t c = walker_.connection();
        result_.outcomes.push_back({r.outcome, r.ret, r.state, r.value, c,
                                    c < steps_of_connection_.size() ? steps_of_connection_[c] : 0});
        break;
    }
    case Tag::PoolStats:
        result_.pool_stats = r.values;
        break;
    case Tag::StackHighWater:
        on_stack_high_water(r.values[0], r.values[1]);
        break;
    default:
        break;
    }
}

// A painted-stack interval ended: it belongs to the phase, and to the
// handshake state when it was one step (the recorder marks every step).
void RecordingStatistics::on_stack_high_water(std::uint64_t deepest, std::uint64_t base) {
    if (!result_.stack) {
        result_.stack.emplace();
        result_.stack->painted =
            trace::meta_number(walker_.info().meta(trace::meta::kStackPainted));
    }
    StackFigures& stack = *result_.stack;
    const std::uint64_t below_call = deepest - base; // the reader checked base <= deepest
    stack.deepest = std::max(stack.deepest, deepest);
    if (below_call > stack.below_call) {
        stack.below_call = below_call;
        stack.phase = walker_.phase();
        stack.state = walker_.state();
        stack.in_step = in_step_;
        stack.connection = walker_.connection();
    }
    PhaseFigures& phase = result_.phases[static_cast<unsigned>(walker_.phase())];
    phase.stack = std::max(phase.stack, below_call);
    if (in_step_) {
        StateFigures& state = current_state();
        state.stack = std::max(state.stack, below_call);
    }
}

void RecordingStatistics::finding(Finding::Kind kind, const Moment& m, std::uint64_t size,
                                  std::string message) {
    if (result_.findings.size() < options_.max_findings) {
        result_.findings.push_back({kind, m, size, std::move(message)});
    }
}

void RecordingStatistics::finish(RecordSource& reader) {
    result_.complete = reader.complete();
    result_.truncated = reader.truncated();
    result_.truncation_message = reader.truncation_message();
    result_.phases[static_cast<unsigned>(walker_.phase())].live_at_end = walker_.live_bytes();
    // A DTLS recording says so even where no transport tap saw its records.
    result_.records.datagram =
        result_.records.datagram ||
        walker_.info().meta(trace::meta::kTransport) == trace::meta::kTransportDatagram;
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
    const auto by_stack_id = [](const std::unordered_map<std::uint32_t, StackBytes>& stacks) {
        std::vector<StackBytes> out;
        out.reserve(stacks.size());
        for (const auto& [stack, entry] : stacks) {
            out.push_back(entry);
        }
        std::sort(out.begin(), out.end(),
                  [](const StackBytes& a, const StackBytes& b) { return a.stack < b.stack; });
        return out;
    };
    result_.stacks_alive_at_peak = by_stack_id(peak_stacks_);
    result_.stacks_allocated = by_stack_id(allocated_stacks_);
    std::sort(result_.alive_at_peak.begin(), result_.alive_at_peak.end(),
              [](const SiteBytes& a, const SiteBytes& b) {
                  return a.bytes != b.bytes ? a.bytes > b.bytes : a.site < b.site;
              });
    if (result_.events > 0) {
        result_.duration_ns = last_time_ns_;
    }
}

} // namespace tlsheap::replay
