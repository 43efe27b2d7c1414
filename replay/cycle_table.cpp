#include "cycle_table.h"

#include <algorithm>

namespace tlsheap::replay {

void CycleTable::observe(const trace::Record& r, const trace::TraceWalker& walker,
                         const ModelDriver& models) {
    const std::uint32_t connection = walker.connection();
    if (connection != current_) {
        current_ = connection;
        if (connection == trace::kSharedConnection) {
            // The shared part's own TEARDOWN after the last cycle.
            if (!members_.empty() && torn_down(walker)) {
                close(walker, models);
            }
        } else if (!is_member(connection)) {
            if (members_.empty() || torn_down(walker)) {
                if (!members_.empty()) {
                    close(walker, models);
                }
                open(connection, walker);
            } else {
                members_.push_back(connection);
                ++row_.connections;
            }
        }
    }
    if (!members_.empty()) {
        row_.live_peak = std::max(row_.live_peak, walker.live_bytes());
    }
    last_seq_ = r.seq;
}

void CycleTable::finish(const trace::TraceWalker& walker, const ModelDriver& models,
                        std::vector<CycleRow>& rows) {
    if (!members_.empty()) {
        close(walker, models);
    }
    rows = std::move(rows_);
}

bool CycleTable::is_member(std::uint32_t connection) const {
    return std::find(members_.begin(), members_.end(), connection) != members_.end();
}

bool CycleTable::torn_down(const trace::TraceWalker& walker) const {
    return std::all_of(members_.begin(), members_.end(), [&](std::uint32_t c) {
        return walker.phase_of(c) == trace::Phase::Teardown;
    });
}

void CycleTable::open(std::uint32_t connection, const trace::TraceWalker& walker) {
    row_ = CycleRow{};
    row_.cycle = static_cast<std::uint32_t>(rows_.size() + 1);
    row_.first_connection = connection;
    row_.connections = 1;
    row_.live_peak = walker.live_bytes();
    members_.assign(1, connection);
}

// Called when the record after the cycle's last one is observed: a Connection
// record or a phase change, which neither allocates nor frees, so the live
// bytes are still those at the cycle's end.
void CycleTable::close(const trace::TraceWalker& walker, const ModelDriver& models) {
    row_.end_seq = last_seq_;
    row_.live_at_end = walker.live_bytes();
    for (const std::uint32_t c : members_) {
        row_.leaked += walker.live_bytes_of(c);
    }
    for (std::size_t i = 0; i < models.model_count(); ++i) {
        row_.footprint.push_back(models.model(i).footprint());
        if (bounded_heap_) {
            row_.heap.push_back(models.model(i).heap_figures());
        }
    }
    rows_.push_back(std::move(row_));
    members_.clear();
}

} // namespace tlsheap::replay
