#include "tlsheap/bare_model_replay.h"

#include <algorithm>
#include <limits>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tlsheap::replay {

namespace {

constexpr std::uint64_t kNotPlaced = std::numeric_limits<std::uint64_t>::max();
// The most states a replay keeps, and the most bytes they take with their
// copies of the model (a model holds 4 to 5 times its state's bytes: a
// block's entry, index slot and tree node against its 3 words): past
// either, the rest of the replay is served.
constexpr std::size_t kMostStates = 4096;
constexpr std::size_t kMostStateBytes = std::size_t{32} << 20;
constexpr std::size_t kCopyBytesPerStateByte = 6;
constexpr std::uint32_t kUnknown = std::numeric_limits<std::uint32_t>::max();

// The states a replay met at the starts of stretches, each with a copy of
// the model and the blocks' offsets in it, and where each stretch served
// from one of them (without a failure) took the replay: a stretch whose
// events equal one seen before, met in the state that one was met in, takes
// the replay where that one did (AllocatorModel::append_state), so the
// replay moves there without serving it.
class StretchMemo {
  public:
    // The state of `model` with each block slot's offset (kNotPlaced when
    // not live); false when the model cannot tell.
    static bool state_of(const AllocatorModel& model, const std::vector<std::uint64_t>& offsets,
                         std::vector<std::uint64_t>& out) {
        out.clear();
        if (!model.append_state(out))
            return false;
        out.insert(out.end(), offsets.begin(), offsets.end());
        return true;
    }

    // The id of `state`, kept with a copy of `model` (which is in it) when
    // new; kUnknown when new and there is no more room.
    std::uint32_t intern(const std::vector<std::uint64_t>& state, const AllocatorModel& model) {
        const std::uint64_t hash = hash_of(state);
        auto [first, last] = by_hash_.equal_range(hash);
        for (auto it = first; it != last; ++it) {
            if (states_[it->second].state == state)
                return it->second;
        }
        const std::size_t bytes = state.size() * sizeof(std::uint64_t) * kCopyBytesPerStateByte;
        if (states_.size() >= kMostStates || held_bytes_ + bytes > kMostStateBytes)
            return kUnknown;
        std::unique_ptr<AllocatorModel> copy = model.clone();
        if (!copy)
            return kUnknown;
        const auto id = static_cast<std::uint32_t>(states_.size());
        states_.push_back(State{state, std::move(copy)});
        by_hash_.emplace(hash, id);
        held_bytes_ += bytes;
        return id;
    }

    // Where the stretches equal to `same_as` took state `from`, kUnknown
    // when not seen.
    std::uint32_t after(std::uint32_t same_as, std::uint32_t from) const {
        const auto it = after_.find(key(same_as, from));
        return it == after_.end() ? kUnknown : it->second;
    }
    void learn(std::uint32_t same_as, std::uint32_t from, std::uint32_t to) {
        after_.emplace(key(same_as, from), to);
    }

    // Puts the replay in state `id`: a copy of the model kept in it, and
    // the offsets from the state's tail.
    std::unique_ptr<AllocatorModel> restore(std::uint32_t id,
                                            std::vector<std::uint64_t>& offsets) const {
        const std::vector<std::uint64_t>& state = states_[id].state;
        std::copy(state.end() - static_cast<std::ptrdiff_t>(offsets.size()), state.end(),
                  offsets.begin());
        return states_[id].model->clone();
    }

  private:
    static std::uint64_t key(std::uint32_t same_as, std::uint32_t from) {
        return std::uint64_t{same_as} << 32 | from;
    }
    static std::uint64_t hash_of(const std::vector<std::uint64_t>& state) {
        std::uint64_t h = state.size();
        for (const std::uint64_t word : state) {
            h = (h ^ word) * 0x9e3779b97f4a7c15ull;
            h ^= h >> 32;
        }
        return h;
    }

    struct State {
        std::vector<std::uint64_t> state;
        std::unique_ptr<AllocatorModel> model;
    };
    std::vector<State> states_;
    std::size_t held_bytes_ = 0;
    std::unordered_multimap<std::uint64_t, std::uint32_t> by_hash_;
    std::unordered_map<std::uint64_t, std::uint32_t> after_;
};

} // namespace

BareModelRun replay_bare_model(const AllocationStream& stream, const ModelSpec& spec,
                               std::optional<std::uint64_t> pool,
                               std::optional<std::uint32_t> last_connection,
                               RepeatedStretches repeated) {
    ModelContext context;
    context.pointer_size = stream.pointer_size();
    context.pool_size = pool;
    std::unique_ptr<AllocatorModel> model = make_model(spec, context);
    BareModelRun run;
    run.name = model->name();
    run.description = model->description();
    run.placement_independent_of_pool_end = model->placement_independent_of_pool_end();

    // Each live block's offset, by the stream's dense block index.
    std::vector<std::uint64_t> offsets(stream.block_capacity(), kNotPlaced);
    const std::uint64_t event_count = stream.event_count();
    const std::vector<std::uint64_t>& large_sizes = stream.large_sizes();
    std::size_t next_large = 0;
    std::uint64_t allocation = 0; // among the stream's allocations
    std::uint64_t served = 0;     // handed to the model
    // The connection of the current event: its last anchor's.
    const std::vector<AllocationStream::Anchor>& anchors = stream.anchors();
    std::size_t next_anchor = 0;
    std::uint32_t connection = 0;

    // At each stretch start the replay finds its state in the memo, passes
    // over every stretch that follows from there as one seen before did,
    // and serves the next one from the state it is then in (`from`), to
    // learn where that one goes.
    const std::vector<AllocationStream::Stretch>& stretches = stream.stretches();
    // Off for the rest of the replay once a state cannot be told or kept: a
    // heap that keeps changing (a leak) would have its state worked out at
    // every stretch, ever longer, for nothing.
    bool skip = repeated == RepeatedStretches::Skip;
    auto in_subset = [&](std::size_t s) {
        return !last_connection || stretches[s].max_connection <= *last_connection;
    };
    StretchMemo memo;
    std::vector<std::uint64_t> state;
    std::size_t next_stretch = 0;
    std::uint32_t from = kUnknown; // the state the stretch being served started in
    std::uint32_t serving = 0;     // that stretch's same_as
    std::uint64_t failures_before = 0;
    // The events of the stretch event i is in (stored, or those of the
    // stretch it equals), the index of its first and of the event after it;
    // `entered` stretches have been entered.
    std::size_t entered = 0;
    const AllocationStream::Event* stretch_events = nullptr;
    std::uint64_t stretch_first = 0;
    std::uint64_t stretch_end = 0;

    for (std::uint64_t i = 0; i < event_count; ++i) {
        if (skip && next_stretch < stretches.size() && stretches[next_stretch].first_event == i) {
            std::uint32_t now = StretchMemo::state_of(*model, offsets, state)
                                    ? memo.intern(state, *model)
                                    : kUnknown;
            if (now == kUnknown) {
                skip = false;
            } else if (from != kUnknown && run.failure_count == failures_before) {
                memo.learn(serving, from, now);
            }
            const std::uint32_t model_is_in = now;
            std::size_t s = next_stretch;
            for (; now != kUnknown && s < stretches.size() && in_subset(s); ++s) {
                const std::uint32_t to = memo.after(stretches[s].same_as, now);
                if (to == kUnknown)
                    break;
                allocation += stretches[s].allocations;
                served += stretches[s].allocations;
                now = to;
            }
            if (s != next_stretch) {
                const std::uint64_t end =
                    s < stretches.size() ? stretches[s].first_event : event_count;
                run.skipped_events += end - i;
                if (now != model_is_in)
                    model = memo.restore(now, offsets);
                if (s < stretches.size()) {
                    next_anchor = stretches[s].first_anchor;
                    connection = anchors[next_anchor - 1].connection;
                }
                i = end;
                if (i == event_count)
                    break;
            }
            next_stretch = s + 1;
            from = in_subset(s) ? now : kUnknown;
            serving = stretches[s].same_as;
            failures_before = run.failure_count;
        }
        while (i >= stretch_end) {
            const std::span<const AllocationStream::Event> entering = stream.events_of(entered);
            stretch_first = stretches[entered++].first_event;
            stretch_events = entering.data();
            stretch_end = stretch_first + entering.size();
        }
        const AllocationStream::Event e = stretch_events[i - stretch_first];
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
