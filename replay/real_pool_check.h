// A trace recorded on mbedTLS's own memory_buffer_alloc holds the real
// allocator's answers: the address of every block and where the pool starts.
// A model that reproduces that allocator must give the same offsets, to the
// byte; this check counts where it does and names the first place it does not.
#pragma once

#include "tlsheap/allocator_model.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_format.h"
#include "tlsheap/trace_info.h"

#include <cstdint>
#include <optional>

namespace tlsheap::replay {

class RealPoolCheck {
  public:
    // Reads the pool's start from the trace's description as it streams by.
    void on_description(const trace::Record& r);

    // Whether `model` can be checked against the recording `info` describes:
    // recorded on the allocator the model reproduces, with the pool's start
    // known, and not transformed (a transformed stream is no longer what the
    // real pool served).
    static bool applies(const AllocatorModel& model, const trace::TraceInfo& info);

    // Checks one allocation: `offset` is what the model gave (nullopt: NULL).
    void compare(ModelRun& run, const trace::Record& r,
                 const std::optional<std::uint64_t>& offset) const;

  private:
    std::uint64_t pool_base_ = 0;
};

} // namespace tlsheap::replay
