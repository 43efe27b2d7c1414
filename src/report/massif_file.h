// A replay as valgrind's massif writes a heap profile (massif.out.PID), for
// ms_print and massif-visualizer: a snapshot per time-series point with the
// live bytes as mem_heap_B and, with a model, the model's footprint beyond
// them (headers, alignment, free gaps) as mem_heap_extra_B; and the live peak
// as the one detailed snapshot, its heap tree the blocks alive there by call
// stack from the call site outwards. Time is the event number (seq).
#pragma once

#include "tlsheap/replay_engine.h"

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>

namespace tlsheap::report {

struct MassifHeader {
    std::string command; // the "cmd:" line: what was recorded
    std::string options; // the "desc:" line: how it was exported
    // The model of `result.models` whose overhead is mem_heap_extra_B; none: 0.
    std::optional<std::size_t> model;
};

// Needs a replay with ReplayOptions::stack_tables.
void write_massif(std::ostream& out, const replay::ReplayResult& result,
                  const MassifHeader& header);

} // namespace tlsheap::report
