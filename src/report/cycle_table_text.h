// The per-cycle table of a lifecycle recording (replay::CycleRow) on the
// terminal. Many reconnects make many rows, most of them equal to the one
// before: the table shows the first few, the last, and every row that differs
// from its predecessor, so that drift and leaks stand out, and says how many
// it left out. The JSON document has every row.
#pragma once

#include "tlsheap/replay_engine.h"

#include <cstddef>
#include <cstdio>
#include <vector>

namespace tlsheap::report {

// Rows the terminal shows, by index: the first `first_rows`, the last, and
// every row whose figures (all but its number, where it ended and its live
// peak, which moves by a few bytes with signature lengths) differ from
// the row before.
std::vector<std::size_t> shown_cycle_rows(const std::vector<replay::CycleRow>& rows,
                                          std::size_t first_rows = 3);

// "Cycles" section; nothing for a trace of one cycle.
void print_cycle_table(std::FILE* out, const replay::ReplayResult& r);

} // namespace tlsheap::report
