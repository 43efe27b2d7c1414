#include "tlsheap/profile_trace.h"

#include "tlsheap/connection_costs.h"

namespace tlsheap::replay {

ReplayResult profile_trace(const SourceFactory& open, const ReplayOptions& options, Walks walks) {
    // The min-pool search and the connection prefixes replay the models
    // over the allocation stream kept from this replay, not the trace again.
    AllocationStream stream;
    LiveByConnection live; // the connection costs' live figures, in the same walk
    std::vector<MinPoolResult> min_pools;
    std::optional<ConnectionCosts> costs;
    // As soon as the recording's walk has kept the stream, beside the
    // models' walk.
    auto after = [&](std::uint32_t connections) {
        min_pools = find_min_pools(stream, options.models);
        if (connections > 1) {
            costs = measure_connection_costs(live.finish(connections + 1), stream, options.models);
        }
    };
    ReplayResult result = replay_trace(open, options, stream, &live, walks, after);
    for (const MinPoolResult& m : min_pools) {
        result.min_pools[m.model] = m.min_pool;
    }
    if (result.failure() != nullptr) {
        for (const ModelRun& run : result.models) {
            const auto found = result.min_pools.find(run.name);
            if (found == result.min_pools.end()) {
                continue;
            }
            if (run.compared_with_real_pool && run.real_pool_size >= found->second) {
                found->second = run.real_pool_size;
                result.min_pool_bounds[run.name] = ReplayResult::MinPoolBound::MoreThan;
            } else {
                result.min_pool_bounds[run.name] = ReplayResult::MinPoolBound::AtLeast;
            }
        }
    }
    result.connection_costs = std::move(costs);
    return result;
}

ReplayResult profile_trace(const SourceFactory& open, const ReplayOptions& options) {
    return profile_trace(open, options, walks_for_this_machine());
}

ReplayResult profile_trace(const std::string& trace_path, const ReplayOptions& options) {
    return profile_trace([&] { return std::make_unique<TraceFileSource>(trace_path); }, options);
}

} // namespace tlsheap::replay
