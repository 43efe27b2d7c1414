// What one more connection costs, measured by replaying the recording
// restricted to its first k connections (ConnectionSubsetSource) rather than
// by dividing a peak by a count: the shared part, the first connection, the
// marginal cost of each further one, per model.
#pragma once

#include "tlsheap/allocation_stream.h"
#include "tlsheap/min_pool.h"
#include "tlsheap/replay_engine.h"

#include <cstdint>
#include <vector>

namespace tlsheap::replay {

// Prefixes with more connections than this get their live peak (one walk)
// but are not replayed through the models: each replay reads the whole
// stream, so all N would cost N times a replay of the trace.
inline constexpr std::uint32_t kMaxReplayedPrefixes = 16;

// One walk for the live figures, then one replay per prefix k = 0..N (up to
// kMaxReplayedPrefixes) through `models` on an unbounded pool, when at least
// two connections held memory at once (a trace of reconnects only has no
// marginal cost to measure). Throws trace::TraceError, ModelError.
ConnectionCosts measure_connection_costs(const SourceFactory& open,
                                         const std::vector<ModelSpec>& models);
// The same with each prefix replayed bare over the recording's allocation
// stream (`open`'s, kept by an earlier replay) instead of read again: one
// walk in all.
ConnectionCosts measure_connection_costs(const SourceFactory& open, const AllocationStream& stream,
                                         const std::vector<ModelSpec>& models);

// The live peak with k connections minus the one with k - 1 (k >= 1): for
// k = 1 the cost of the first connection over the shared part.
std::int64_t marginal_live(const ConnectionCosts& costs, std::uint32_t k);
// The same for model `model`'s footprint; 0 when a prefix was not replayed.
std::int64_t marginal_footprint(const ConnectionCosts& costs, std::uint32_t k, std::size_t model);

} // namespace tlsheap::replay
