#include "tlsheap/bare_model_replay.h"

#include <limits>
#include <vector>

namespace tlsheap::replay {

BareModelRun replay_bare_model(const AllocationStream& stream, const ModelSpec& spec,
                               std::optional<std::uint64_t> pool) {
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
    std::uint64_t allocation = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const AllocationStream::Event e = events[i];
        if ((e.block & AllocationStream::kFreeBit) != 0) {
            const std::uint64_t offset = offsets[e.block & ~AllocationStream::kFreeBit];
            if (offset != kNotPlaced) {
                model->release(offset);
            }
            continue;
        }
        const std::uint64_t bytes =
            e.size == AllocationStream::kLargeSize ? large_sizes[next_large++] : e.size;
        const std::optional<std::uint64_t> offset = model->allocate(bytes);
        offsets[e.block] = offset.value_or(kNotPlaced);
        ++allocation;
        if (!offset && run.failure_count++ == 0) {
            run.first_failure = ModelFailure{stream.moment_of(i, allocation - 1), bytes};
            if (pool) {
                break;
            }
        }
    }
    // As the replay engine counts it: the highest after any allocation (0
    // with none); footprints only grow, so the last.
    run.footprint = allocation == 0 ? 0 : model->footprint();
    if (run.placement_independent_of_pool_end) {
        run.min_pool_one_pass = model->min_pool_after_replay();
    }
    return run;
}

} // namespace tlsheap::replay
