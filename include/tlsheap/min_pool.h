// The smallest pool in which a trace runs without a failed allocation, per
// allocator model: the question "how big must my static buffer be?".
#pragma once

#include "tlsheap/allocation_stream.h"
#include "tlsheap/allocator_model.h"
#include "tlsheap/bare_model_replay.h"
#include "tlsheap/record_source.h"
#include "tlsheap/replay_engine.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::replay {

struct MinPoolResult {
    std::string model;
    std::string description;
    std::uint64_t min_pool = 0;
    // One pass: the smallest pool that keeps the unbounded replay's
    // placements (min_pool is at most this, found by stepping down from it).
    std::uint64_t placement_bound = 0;
    std::uint64_t granularity = 1;
    // "one pass": first fit, placements independent of the pool end: one
    // unbounded replay bounds the answer, bounded replays step down from it.
    // "search": bisection over pool sizes (good/best fit, size classes that
    // depend on the pool size).
    std::string method;
    unsigned replays = 0;
    // Checked by replaying: runs at min_pool, and one granularity below it
    // the first failing allocation is this one.
    bool runs_at_min_pool = false;
    std::optional<ModelFailure> fails_below;
    std::uint64_t live_peak = 0;
};

// One replay of one model in a pool of `pool` bytes (nullopt: unbounded),
// as the search asks for it. Called from several threads at once (one per
// model searched, up to the cores there are).
using ModelReplay =
    std::function<BareModelRun(const ModelSpec& spec, std::optional<std::uint64_t> pool)>;

// The search, over any way of replaying the recording: `pointer_size` and
// `live_peak` are the recording's. Throws ModelError.
std::vector<MinPoolResult> find_min_pools(const ModelReplay& replay, unsigned pointer_size,
                                          std::uint64_t live_peak,
                                          const std::vector<ModelSpec>& models);
// Each model replayed bare over `stream`, once per pool size tried.
// Throws ModelError.
std::vector<MinPoolResult> find_min_pools(const AllocationStream& stream,
                                          const std::vector<ModelSpec>& models);
// The same over one decode of the source into an AllocationStream.
// Throws trace::TraceError, ModelError.
std::vector<MinPoolResult> find_min_pools(const SourceFactory& open,
                                          const std::vector<ModelSpec>& models);
std::vector<MinPoolResult> find_min_pools(const std::string& trace_path,
                                          const std::vector<ModelSpec>& models);

} // namespace tlsheap::replay
