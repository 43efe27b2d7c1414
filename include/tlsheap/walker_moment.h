// The Moment of the record a trace walker is at: what the replay engine
// notes of an allocation or a free, and what AllocationStream::moment_of
// gives back for an allocation it kept.
#pragma once

#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_walker.h"

namespace tlsheap::replay {

inline Moment moment_of(const trace::Record& r, const trace::TraceWalker& walker) {
    Moment m;
    m.seq = r.seq;
    m.time_ns = r.time_ns;
    m.phase = walker.phase();
    m.state = walker.state();
    m.stack = r.stack;
    m.connection = walker.connection();
    return m;
}

} // namespace tlsheap::replay
