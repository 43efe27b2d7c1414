#include "tlsheap/bare_model_replay.h"

#include <deque>
#include <limits>
#include <utility>
#include <vector>

namespace tlsheap::replay {

namespace {

constexpr std::uint64_t kNotPlaced = std::numeric_limits<std::uint64_t>::max();
// The most stretches after which a state is looked for again.
constexpr std::size_t kLongestPeriod = 4;

// The state a stretch starts from: the model's, then each block slot's
// offset (kNotPlaced when not live).
bool state_of(const AllocatorModel& model, const std::vector<std::uint64_t>& offsets,
              std::vector<std::uint64_t>& out) {
    out.clear();
    if (!model.append_state(out))
        return false;
    out.insert(out.end(), offsets.begin(), offsets.end());
    return true;
}

} // namespace

BareModelRun replay_bare_model(const AllocationStream& stream, const ModelSpec& spec,
                               std::optional<std::uint64_t> pool,
                               std::optional<std::uint32_t> last_connection,
                               RepeatedStretches repeated) {
    ModelContext context;
    context.pointer_size = stream.pointer_size();
    context.pool_size = pool;
    const std::unique_ptr<AllocatorModel> model = make_model(spec, context);
    BareModelRun run;
    run.name = model->name();
    run.description = model->description();
    run.placement_independent_of_pool_end = model->placement_independent_of_pool_end();

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

    // Repeats: the states met at the starts of the last few stretches, all
    // but the oldest repeating the one before, with the failures counted by
    // then (a model's state may come back only every second stretch, when
    // something one connection keeps is freed by the next).
    const std::vector<AllocationStream::Stretch>& stretches = stream.stretches();
    const bool skip = repeated == RepeatedStretches::Skip;
    auto in_subset = [&](std::size_t s) {
        return !last_connection || stretches[s].max_connection <= *last_connection;
    };
    auto repeats = [&](std::size_t s) {
        return s < stretches.size() && stretches[s].repeats && in_subset(s) && in_subset(s - 1);
    };
    struct Met {
        std::vector<std::uint64_t> state;
        std::uint64_t failures = 0;
    };
    std::deque<Met> met; // oldest first, at most kLongestPeriod
    std::vector<std::uint64_t> now;
    std::size_t next_stretch = 0;

    for (std::size_t i = 0; i < events.size(); ++i) {
        if (skip && next_stretch < stretches.size() && stretches[next_stretch].first_event == i) {
            const std::size_t s = next_stretch++;
            if (!repeats(s))
                met.clear();
            if ((repeats(s) || repeats(s + 1)) && state_of(*model, offsets, now)) {
                // The stretches since the state met `period` stretches ago
                // took it back to itself: so do the next `period` repeats,
                // and so on.
                std::size_t period = 0;
                for (std::size_t p = 1; p <= met.size() && period == 0; ++p) {
                    const Met& then = met[met.size() - p];
                    if (then.failures == run.failure_count && then.state == now)
                        period = p;
                }
                std::size_t run_length = 0;
                while (period != 0 && repeats(s + run_length))
                    ++run_length;
                const std::size_t skipped = period == 0 ? 0 : run_length / period * period;
                if (skipped != 0) {
                    const std::size_t t = s + skipped; // where the replay goes on
                    const std::uint64_t end =
                        t < stretches.size() ? stretches[t].first_event : events.size();
                    for (std::size_t k = s; k < t; ++k) {
                        allocation += stretches[k].allocations;
                        served += stretches[k].allocations;
                    }
                    run.skipped_events += end - i;
                    if (t < stretches.size()) {
                        next_anchor = stretches[t].first_anchor;
                        connection = anchors[next_anchor - 1].connection;
                    }
                    next_stretch = t;
                    met.clear();
                    i = end - 1;
                    continue;
                }
                met.push_back(Met{now, run.failure_count});
                if (met.size() > kLongestPeriod)
                    met.pop_front();
            } else {
                met.clear();
            }
        }
        const AllocationStream::Event e = events[i];
        while (last_connection && next_anchor < anchors.size() && anchors[next_anchor].event <= i) {
            connection = anchors[next_anchor++].connection;
        }
        if ((e.block & AllocationStream::kFreeBit) != 0) {
            std::uint64_t& offset = offsets[e.block & ~AllocationStream::kFreeBit];
            if (offset != kNotPlaced) {
                model->release(offset);
                offset = kNotPlaced;
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
