// The recording's own figures, independent of any allocator model: counts,
// the live peak and what is alive at it by call site, peaks per phase and per
// handshake state, the steady state, record buffers, TLS records, outcomes,
// findings and leaks. Kept in a ReplayResult as the walker goes.
#pragma once

#include "tlsheap/record_source.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_format.h"
#include "tlsheap/trace_walker.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace tlsheap::replay {

class RecordingStatistics {
  public:
    RecordingStatistics(const trace::TraceWalker& walker, const ReplayOptions& options,
                        ReplayResult& result);

    // Every Alloc and Free record, first.
    void count_event(const trace::Record& r);
    // An allocation the recorded allocator answered with NULL.
    void on_null_alloc(const Moment& m, std::uint64_t bytes, bool overflow);
    void on_alloc(std::uint32_t stack, std::uint64_t bytes, bool overflow);
    // After an allocation: the live bytes may be a new peak (of the phase,
    // the handshake state, the recording).
    void note_live(const Moment& m);
    void on_free(const trace::Record& r, trace::FreeKind kind, const trace::LiveAllocation* block,
                 const Moment& m);
    void on_phase(const trace::Record& r, Phase previous);
    void on_context(const trace::Record& r);
    // The end of the stream: leaks, what was alive at the peak, duration.
    void finish(RecordSource& reader);

  private:
    StateFigures& current_state();
    StateFigures& state_figures(std::uint32_t state);
    void add_to_peak(const trace::LiveAllocation& block, std::uint64_t seq);
    void on_stack_high_water(std::uint64_t deepest, std::uint64_t base);
    void finding(Finding::Kind kind, const Moment& m, std::uint64_t size, std::string message);

    const trace::TraceWalker& walker_;
    const ReplayOptions& options_;
    ReplayResult& result_;
    static constexpr std::size_t kNoState = ~std::size_t{0};
    std::vector<std::size_t> state_index_; // state id -> index in result_.states
    std::size_t current_state_index_ = kNoState;
    std::unordered_map<std::string, SiteBytes> peak_sites_;
    std::unordered_map<std::uint32_t, StackBytes> peak_stacks_;
    std::unordered_map<std::uint32_t, StackBytes> allocated_stacks_;
    std::uint64_t last_time_ns_ = 0;
    bool in_step_ = false; // between a StepBegin and its StepEnd
    // Handshake steps by connection (as many as the walker's connections).
    std::vector<std::uint64_t> steps_of_connection_;
};

} // namespace tlsheap::replay
