// The cycles of a lifecycle recording, one row each (ReplayResult::cycles). A
// cycle is the set of connections open together: a connection that starts
// while some connection of the current cycle is not yet in TEARDOWN joins it;
// one that starts when all of them are torn down (or none is open) ends it and
// opens the next. That is how the recorder runs them
// (src/recorder/connection_phases.cpp: each cycle opens its connections, then
// closes and frees all of them before the next), and it needs nothing but the
// walker's per-connection phases. A row holds the live bytes at the cycle's
// end, its live peak, the bytes its connections still hold after their
// TEARDOWN, and per model the footprint and (on a heap of fixed size) the
// device's heap figures at that moment, so that drift and leaks show.
#pragma once

#include "model_driver.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_walker.h"

#include <cstdint>
#include <vector>

namespace tlsheap::replay {

class CycleTable {
  public:
    explicit CycleTable(bool bounded_heap) : bounded_heap_(bounded_heap) {}

    // After every record, once the walker's context holds it.
    void observe(const trace::Record& r, const trace::TraceWalker& walker,
                 const ModelDriver& models);
    // At the end of the trace: closes the open cycle and hands over the rows.
    void finish(const trace::TraceWalker& walker, const ModelDriver& models,
                std::vector<CycleRow>& rows);

  private:
    bool is_member(std::uint32_t connection) const;
    bool torn_down(const trace::TraceWalker& walker) const;
    void open(std::uint32_t connection, const trace::TraceWalker& walker);
    void close(const trace::TraceWalker& walker, const ModelDriver& models);

    bool bounded_heap_;
    std::uint32_t current_ = trace::kSharedConnection;
    std::vector<std::uint32_t> members_; // of the open cycle; empty when none is
    CycleRow row_;
    std::uint64_t last_seq_ = 0; // of the record before the one observed
    std::vector<CycleRow> rows_;
};

} // namespace tlsheap::replay
