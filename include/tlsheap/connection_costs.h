// What one more connection costs, measured by replaying the recording
// restricted to its first k connections (ConnectionSubsetSource) rather than
// by dividing a peak by a count: the shared part, the first connection, the
// marginal cost of each further one, per model.
#pragma once

#include "tlsheap/allocation_stream.h"
#include "tlsheap/min_pool.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_walker.h"

#include <cstdint>
#include <vector>

namespace tlsheap::replay {

// Prefixes with more connections than this get their live peak (one walk)
// but are not replayed through the models: each replay reads the whole
// stream, so all N would cost N times a replay of the trace.
inline constexpr std::uint32_t kMaxReplayedPrefixes = 16;

// A client of the trace walker that counts each connection's own live bytes,
// and the live bytes of every prefix (shared part + connections 1..k), whose
// peaks are the live peaks of the prefix streams: the live figures of
// ConnectionCosts, without the models' footprints.
class LiveByConnection final : public trace::WalkerHooks {
  public:
    void on_alloc(const trace::Record& r, const trace::LiveAllocation* block,
                  std::uint32_t slot) override;
    void on_free(const trace::Record& r, trace::FreeKind kind, const trace::LiveAllocation* block,
                 std::uint32_t slot) override;
    // After the walk, which met `connection_count` connections (the
    // walker's, the shared part included).
    ConnectionCosts finish(std::uint32_t connection_count);

  private:
    void grow(std::uint32_t count);
    void change(std::uint32_t connection, std::int64_t bytes);

    ConnectionCosts costs_;
    bool first_seen_ = false;
    std::uint32_t open_ = 0;
    std::vector<std::uint64_t> own_live_, own_peak_, prefix_live_, prefix_peak_;
};

// The live figures from one walk of `open`'s trace. Throws trace::TraceError.
ConnectionCosts count_live_by_connection(const SourceFactory& open);

// The live figures, then one replay per prefix k = 0..N (up to
// kMaxReplayedPrefixes) through `models` on an unbounded pool, when at least
// two connections held memory at once (a trace of reconnects only has no
// marginal cost to measure). Throws trace::TraceError, ModelError.
ConnectionCosts measure_connection_costs(const SourceFactory& open,
                                         const std::vector<ModelSpec>& models);
// The same from live figures counted already (by a LiveByConnection fed the
// walk that kept `stream`), each prefix replayed bare over the recording's
// allocation stream instead of read again: no walk at all.
ConnectionCosts measure_connection_costs(ConnectionCosts live, const AllocationStream& stream,
                                         const std::vector<ModelSpec>& models);

// The live peak with k connections minus the one with k - 1 (k >= 1): for
// k = 1 the cost of the first connection over the shared part.
std::int64_t marginal_live(const ConnectionCosts& costs, std::uint32_t k);
// The same for model `model`'s footprint; 0 when a prefix was not replayed.
std::int64_t marginal_footprint(const ConnectionCosts& costs, std::uint32_t k, std::size_t model);

} // namespace tlsheap::replay
