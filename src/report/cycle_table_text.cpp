#include "report/cycle_table_text.h"

#include "tlsheap/number_format.h"

#include <fmt/format.h>
#include <string>

namespace tlsheap::report {

namespace {

// What drifts or leaks shows at a cycle's end. The live peak is left out: it
// moves by a few bytes with the length of each handshake's ECDSA signatures.
bool same_figures(const replay::CycleRow& a, const replay::CycleRow& b) {
    if (a.connections != b.connections || a.live_at_end != b.live_at_end || a.leaked != b.leaked ||
        a.footprint != b.footprint || a.heap.size() != b.heap.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.heap.size(); ++i) {
        if (a.heap[i].free_bytes != b.heap[i].free_bytes ||
            a.heap[i].largest_free_block != b.heap[i].largest_free_block) {
            return false;
        }
    }
    return true;
}

} // namespace

std::vector<std::size_t> shown_cycle_rows(const std::vector<replay::CycleRow>& rows,
                                          std::size_t first_rows) {
    std::vector<std::size_t> shown;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i < first_rows || i + 1 == rows.size() || !same_figures(rows[i], rows[i - 1])) {
            shown.push_back(i);
        }
    }
    return shown;
}

void print_cycle_table(std::FILE* out, const replay::ReplayResult& r) {
    if (r.cycles.size() < 2) {
        return;
    }
    auto line = [&](const std::string& s) { std::fputs((s + "\n").c_str(), out); };
    const std::vector<std::size_t> shown = shown_cycle_rows(r.cycles);
    const std::size_t elided = r.cycles.size() - shown.size();
    line(fmt::format("Cycles          {} cycles; at each one's end: live bytes, bytes its "
                     "connections leaked, each model's footprint{}",
                     r.cycles.size(),
                     r.cycles.front().heap.empty() ? "" : " and free / largest free block"));
    if (elided > 0) {
        line(fmt::format("                {} rows not shown: the same figures as the row before "
                         "(live peak aside)",
                         elided));
    }
    const bool heap = !r.cycles.front().heap.empty();
    std::string header = fmt::format("  {:>6} {:>6} {:>12} {:>12} {:>10}", "cycle", "conns",
                                     "live at end", "live peak", "leaked");
    for (const replay::ModelRun& m : r.models) {
        header += fmt::format(" {:>16}", m.name);
        if (heap) {
            header += fmt::format(" {:>21}", "free / largest");
        }
    }
    line(header);
    std::size_t previous = 0;
    for (const std::size_t i : shown) {
        if (i > previous + 1) {
            line(fmt::format("  {:>6}", "..."));
        }
        previous = i;
        const replay::CycleRow& row = r.cycles[i];
        std::string text =
            fmt::format("  {:>6} {:>6} {:>12} {:>12} {:>10}", row.cycle, row.connections,
                        grouped(row.live_at_end), grouped(row.live_peak), grouped(row.leaked));
        for (std::size_t m = 0; m < row.footprint.size(); ++m) {
            text += fmt::format(" {:>16}", grouped(row.footprint[m]));
            if (m < row.heap.size()) {
                text += fmt::format(" {:>21}", grouped(row.heap[m].free_bytes) + " / " +
                                                   grouped(row.heap[m].largest_free_block));
            }
        }
        line(text);
    }
    line("");
}

} // namespace tlsheap::report
