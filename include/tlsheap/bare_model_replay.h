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

    // Events of stretches seen before passed over (see below); 0 when the
    // stream has none or the model cannot tell its state.
    std::uint64_t skipped_events = 0;

    bool runs() const { return failure_count == 0; }
};

// Whether replay_bare_model passes over stretches seen before (tests compare).
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
// A stretch (AllocationStream::Stretch) whose events equal one served before
// without a failure, met in the state (AllocatorModel::append_state, and
// every live block's offset) that one was met in, ends where that one ended:
// the replay passes over it, the counts carried on, and goes on from a copy
// of the model kept in that state. States are kept at stretch starts (at
// most 4,096 a replay, about 32 MiB with their copies of the model; past
// that, the rest is served). The figures are those of the full replay; a
// reconnect recording whose connections leave the heap as they found it
// costs one replay of each different connection (ECDHE's numbers make a
// few: 18 among 1,134 real reconnects).
BareModelRun replay_bare_model(const AllocationStream& stream, const ModelSpec& spec,
                               std::optional<std::uint64_t> pool,
                               std::optional<std::uint32_t> last_connection = std::nullopt,
                               RepeatedStretches repeated = RepeatedStretches::Skip);

} // namespace tlsheap::replay
