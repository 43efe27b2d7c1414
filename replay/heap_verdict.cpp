#include "heap_verdict.h"

namespace tlsheap::replay {

HeapVerdictTracker::HeapVerdictTracker(const AllocatorModel& model, std::uint64_t heap_size) {
    verdict_.heap_size = heap_size;
    verdict_.figures_source = model.heap_figures_source();
}

void HeapVerdictTracker::after_allocation(const AllocatorModel& model, bool placed, const Moment& m,
                                          std::uint64_t size, std::uint64_t allocation) {
    if (verdict_.first_failure) {
        return;
    }
    // A refused request leaves the heap as it was: these are the figures the
    // device would print next to the NULL.
    const HeapMoment now{model.heap_figures(), m, allocation, size};
    if (!placed) {
        verdict_.first_failure = now;
        return;
    }
    if (!verdict_.lowest_free ||
        now.figures.free_bytes < verdict_.lowest_free->figures.free_bytes) {
        verdict_.lowest_free = now;
    }
    if (!verdict_.smallest_largest_free_block ||
        now.figures.largest_free_block <
            verdict_.smallest_largest_free_block->figures.largest_free_block) {
        verdict_.smallest_largest_free_block = now;
    }
}

} // namespace tlsheap::replay
