// Drives every allocator model of a replay through the recorded stream: each
// allocation is served by each model, each free returns the block where that
// model placed it, and each model's figures (footprint and when it was
// raised, bytes in use at their peaks, failures under a pool limit,
// invariants) are kept as the stream goes.
#pragma once

#include "heap_verdict.h"
#include "real_pool_check.h"
#include "tlsheap/allocator_model.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_format.h"
#include "tlsheap/trace_info.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

namespace tlsheap::replay {

class ModelDriver {
  public:
    // Where a model did not place a block (it returned NULL).
    static constexpr std::uint64_t kNotPlaced = std::numeric_limits<std::uint64_t>::max();

    // Throws ModelError when more models are asked for than one replay runs.
    ModelDriver(const ReplayOptions& options, const RealPoolCheck& real_pool);

    // Builds the models for the recording `info` describes. Called at the
    // first event: by then the trace has said what ABI it was recorded on,
    // and headers follow its pointer size.
    void start(const trace::TraceInfo& info);
    bool started() const { return started_; }

    // The models asked for (a real-pool comparison's copies are not counted).
    std::size_t model_count() const { return visible_; }
    const AllocatorModel& model(std::size_t i) const { return *slots_[i].model; }

    // Serves an allocation of `bytes` (> 0, not overflowing) in every model.
    // `block_slot` is the walker's slot for the block and `slot_capacity`
    // the walker's slot count. Returns each model's offset for the block,
    // kNotPlaced where it failed.
    const std::uint64_t* allocate(const trace::Record& r, std::uint64_t bytes, const Moment& m,
                                  std::uint32_t block_slot, std::uint32_t slot_capacity);
    // Marks a block no model placed (a zero-size or overflowing request).
    void place_nowhere(std::uint32_t block_slot, std::uint32_t slot_capacity);
    // Returns a block to every model that placed it.
    void release(std::uint32_t block_slot, const Moment& m);

    // The recording reached a new live peak.
    void note_live_peak();
    // A phase ended (or the trace did, in phase `phase`).
    void end_phase(Phase phase);
    // The handshake gave way to application data.
    void note_handshake_done();

    // Final figures of every model, in the order asked for.
    void finish(std::vector<ModelRun>& runs);

  private:
    struct Slot {
        std::unique_ptr<AllocatorModel> model;
        ModelRun run;
        bool compare_with_real_pool = false;
        // A copy of slot `copy_of` run in the real pool's size, only to
        // compare with the real allocator; it reports nothing itself.
        bool comparison_copy = false;
        std::size_t copy_of = 0;
        std::vector<Peak> state_used_peak;      // by state id; ModelRun's map is filled at the end
        std::optional<HeapVerdictTracker> heap; // with a pool size
    };

    // Each model's offset for a live block, by the walker's slot.
    std::uint64_t* offsets(std::uint32_t block_slot);
    std::uint64_t* fresh_offsets(std::uint32_t block_slot, std::uint32_t slot_capacity);
    void after_event(Slot& slot, const Moment& m, bool grew);

    const ReplayOptions& options_;
    const RealPoolCheck& real_pool_;
    std::vector<Slot> slots_; // the models asked for, then comparison copies
    std::size_t visible_ = 0;
    bool started_ = false;
    std::vector<std::uint64_t> offsets_; // walker slots x models
    std::uint64_t allocations_ = 0;      // handed to the models so far
};

} // namespace tlsheap::replay
