// The verdict of a replay on a device heap of fixed size (--heap), for one
// model: after every allocation, the figures the device's own heap API would
// report (AllocatorModel::heap_figures); the lowest of them until the first
// allocation that fails; that failure with the figures at its moment. A
// device whose allocation fails takes another path from there, so nothing
// after the first failure counts toward the headroom.
#pragma once

#include "tlsheap/allocator_model.h"
#include "tlsheap/replay_engine.h"

#include <cstdint>

namespace tlsheap::replay {

class HeapVerdictTracker {
  public:
    HeapVerdictTracker(const AllocatorModel& model, std::uint64_t heap_size);

    // After `model` served (placed) or refused the allocation numbered
    // `allocation` (from 1) of `size` bytes at `m`.
    void after_allocation(const AllocatorModel& model, bool placed, const Moment& m,
                          std::uint64_t size, std::uint64_t allocation);

    const HeapVerdict& verdict() const { return verdict_; }

  private:
    HeapVerdict verdict_;
};

} // namespace tlsheap::replay
