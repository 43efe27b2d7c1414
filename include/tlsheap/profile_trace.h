// The figures every report of a trace starts from: one replay of the stream
// through the models, and each model's min pool (a search that replays the
// models bare, per step, over the allocation stream that replay kept).
// Commands and analyses call this instead of stitching replay_trace and
// find_min_pools together themselves.
#pragma once

#include "tlsheap/min_pool.h"
#include "tlsheap/replay_engine.h"

namespace tlsheap::replay {

// `open` gives a fresh stream each time the trace is read (the trace, or a
// transform over it): twice, for the two walks of the replay (`walks`), which
// keep what the min pools and the connection costs need. The result's
// min_pools holds every model's min pool by model name, and with more than
// one connection its connection_costs (connection_costs.h).
// Throws trace::TraceError, ModelError, TransformError.
ReplayResult profile_trace(const SourceFactory& open, const ReplayOptions& options);
ReplayResult profile_trace(const SourceFactory& open, const ReplayOptions& options, Walks walks);
ReplayResult profile_trace(const std::string& trace_path, const ReplayOptions& options);

} // namespace tlsheap::replay
