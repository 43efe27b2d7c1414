// A trace as pprof's profile.proto (gzipped), for `pprof -http`, speedscope
// and Perfetto: one sample per call stack, handshake state, phase and
// connection, with the sample types alloc_objects, alloc_space (every
// allocation) and inuse_objects, inuse_space (the blocks alive at the live
// peak, so that inuse_space adds up to it), and labels "phase", "state" (in
// the handshake) and "connection" (in a recording of several). Stacks start
// at the call site, as the terminal report's do.
#pragma once

#include "tlsheap/trace_walker.h"

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

namespace tlsheap::report {

class PprofProfileBuilder final : public trace::WalkerHooks {
  public:
    // `peak_seq`: the event after which the live bytes first reached their
    // highest (ReplayResult::live_peak.at.seq; 0 for a trace without one).
    PprofProfileBuilder(const trace::TraceWalker& walker, std::uint64_t peak_seq);

    void on_alloc(const trace::Record& r, const trace::LiveAllocation* block,
                  std::uint32_t slot) override;
    void on_free(const trace::Record& r, trace::FreeKind kind, const trace::LiveAllocation* block,
                 std::uint32_t slot) override;

    // The profile, serialized and gzipped. `duration_ns`: the recording's.
    std::string gzipped(std::uint64_t duration_ns) const;

  private:
    // stack, phase, state (handshake only, else 0), connection
    using Key = std::tuple<std::uint32_t, trace::Phase, std::uint32_t, std::uint32_t>;
    // Unsigned: a hostile trace's sizes may add up past INT64_MAX.
    struct Values {
        std::uint64_t alloc_objects = 0;
        std::uint64_t alloc_space = 0;
        std::uint64_t inuse_objects = 0;
        std::uint64_t inuse_space = 0;
    };

    void take_peak(std::uint64_t seq);

    const trace::TraceWalker& walker_;
    std::uint64_t peak_seq_;
    std::map<Key, Values> samples_;
};

} // namespace tlsheap::report
