// Which cycle rows the terminal shows: the first three, the last, and every
// row whose end-of-cycle figures differ from the row before.
#include "report/cycle_table_text.h"

#include <gtest/gtest.h>

namespace tlsheap::report {
namespace {

std::vector<replay::CycleRow> rows(unsigned count) {
    std::vector<replay::CycleRow> r(count);
    for (unsigned i = 0; i < count; ++i) {
        r[i].cycle = i + 1;
        r[i].connections = 1;
        r[i].live_at_end = 2109;
        r[i].live_peak = 44263 + (i % 3) * 4; // signature lengths: not compared
        r[i].footprint = {45272};
    }
    return r;
}

TEST(CycleTableText, EqualRowsAreElided) {
    EXPECT_EQ(shown_cycle_rows(rows(20)), (std::vector<std::size_t>{0, 1, 2, 19}));
    EXPECT_EQ(shown_cycle_rows(rows(2)), (std::vector<std::size_t>{0, 1}));
}

TEST(CycleTableText, ALeakAndTheDriftItCausesShow) {
    std::vector<replay::CycleRow> r = rows(10);
    // Cycle 6 leaks 64 bytes; every later cycle ends 64 bytes higher.
    r[5].leaked = 64;
    for (std::size_t i = 5; i < r.size(); ++i) {
        r[i].live_at_end += 64;
    }
    // Row 6 differs (leak, live at end), row 7 differs (no leak again), then equal.
    EXPECT_EQ(shown_cycle_rows(r), (std::vector<std::size_t>{0, 1, 2, 5, 6, 9}));
}

TEST(CycleTableText, HeapFiguresCount) {
    std::vector<replay::CycleRow> r = rows(6);
    for (auto& row : r) {
        row.heap = {replay::HeapFigures{1000, 800, 792}};
    }
    r[4].heap[0].largest_free_block = 640; // fragmentation moves, bytes do not
    EXPECT_EQ(shown_cycle_rows(r), (std::vector<std::size_t>{0, 1, 2, 4, 5}));
}

} // namespace
} // namespace tlsheap::report
