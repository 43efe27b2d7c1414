// One allocator model run over an allocation stream held in memory, with
// nothing around it: no recording statistics, time series or heap verdicts,
// only whether every allocation was served, the first that was not, and the
// model's own figures the min-pool search reads. The search runs this once
// per pool size it tries.
#pragma once

#include "tlsheap/allocation_stream.h"
#include "tlsheap/allocator_model.h"
#include "tlsheap/replay_engine.h"

#include <cstdint>
#include <optional>
#include <string>

namespace tlsheap::replay {

struct BareModelRun {
    std::string name;
    std::string description;
    // Allocations that failed; a replay in a pool stops at the first.
    std::uint64_t failure_count = 0;
    std::optional<ModelFailure> first_failure;
    // As ModelRun::footprint, up to where the replay stopped.
    std::uint64_t footprint = 0;
    bool placement_independent_of_pool_end = false;
    // AllocatorModel::min_pool_after_replay, when placement is independent
    // of the pool end (as ModelRun::min_pool_one_pass).
    std::uint64_t min_pool_one_pass = 0;

    // Events of repeated stretches passed over (see below); 0 when the
    // stream has none or the model cannot tell its state.
    std::uint64_t skipped_events = 0;

    bool runs() const { return failure_count == 0; }
};

// Whether replay_bare_model passes over repeated stretches (tests compare).
enum class RepeatedStretches { Skip, Replay };

// The model `spec` in a pool of `pool` bytes (nullopt: unbounded), built for
// the stream's pointer size, serving the events of `stream`: the figures
// replay_trace of the stream's trace gives with that one model. In a pool the
// replay stops at the first failed allocation (the search asks only whether
// the trace runs, and where it first fails); unbounded it runs to the end.
// With `last_connection`, only the blocks that connections 0..last_connection
// allocated are served: the stream of a ConnectionSubsetSource. Throws
// ModelError.
//
// A stretch (AllocationStream::Stretch) that repeats the one before, met in
// the state (AllocatorModel::append_state, and every live block's offset)
// the one before was met in, with no failure since, would leave that state
// as it found it: it and every repeat after it are passed over, the counts
// carried on. The figures are those of the full replay; a reconnect trace of
// N equal connections costs about two of them.
BareModelRun replay_bare_model(const AllocationStream& stream, const ModelSpec& spec,
                               std::optional<std::uint64_t> pool,
                               std::optional<std::uint32_t> last_connection = std::nullopt,
                               RepeatedStretches repeated = RepeatedStretches::Skip);

} // namespace tlsheap::replay
