#include "tlsheap/bare_model_replay.h"

#include <limits>
#include <vector>

namespace tlsheap::replay {

BareModelRun replay_bare_model(const AllocationStream& stream, const ModelSpec& spec,
                               std::optional<std::uint64_t> pool,
                               std::optional<std::uint32_t> last_connection) {
    ModelContext context;
    context.pointer_size = stream.pointer_size();
    context.pool_size = pool;
    const std::unique_ptr<AllocatorModel> model = make_model(spec, context);
    BareModelRun run;
    run.name = model->name();
    run.description = model->description();
    run.placement_independent_of_pool_end = model->placement_independent_of_pool_end();

    constexpr std::uint64_t kNotPlaced = std::numeric_limits<std::uint64_t>::max();
    // Each live block's offset, by the stream's dense block index.
    std::vector<std::uint64_t> offsets(stream.block_capacity(), kNotPlaced);
    const std::vector<AllocationStream::Event>& events = stream.events();
    const std::vector<std::uint64_t>& large_sizes = stream.large_sizes();
    std::size_t next_large = 0;
    std::uint64_t allocation = 0; // among the stream's allocations
    std::uint64_t served = 0;     // handed to the model
    // The connection of the current event: its last anchor's.
    const std::vector<AllocationStream::Anchor>& anchors = stream.anchors();
    std::size_t next_anchor = 0;
    std::uint32_t connection = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const AllocationStream::Event e = events[i];
        while (last_connection && next_anchor < anchors.size() && anchors[next_anchor].event <= i) {
            connection = anchors[next_anchor++].connection;
        }
        if ((e.block & AllocationStream::kFreeBit) != 0) {
            const std::uint64_t offset = offsets[e.block & ~AllocationStream::kFreeBit];
            if (offset != kNotPlaced) {
                model->release(offset);
            }
            continue;
        }
        const std::uint64_t bytes =
            e.size == AllocationStream::kLargeSize ? large_sizes[next_large++] : e.size;
        ++allocation;
        if (last_connection && connection > *last_connection) {
            offsets[e.block] = kNotPlaced; // not in this subset: nor is its free
            continue;
        }
        const std::optional<std::uint64_t> offset = model->allocate(bytes);
        offsets[e.block] = offset.value_or(kNotPlaced);
        ++served;
        if (!offset && run.failure_count++ == 0) {
            run.first_failure = ModelFailure{stream.moment_of(i, allocation - 1), bytes};
            if (pool) {
                break;
            }
        }
    }
    // As the replay engine counts it: the highest after any allocation (0
    // with none); footprints only grow, so the last.
    run.footprint = served == 0 ? 0 : model->footprint();
    if (run.placement_independent_of_pool_end) {
        run.min_pool_one_pass = model->min_pool_after_replay();
    }
    return run;
}

} // namespace tlsheap::replay
