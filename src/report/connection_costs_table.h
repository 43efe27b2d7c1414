// The terminal section for a recording with more than one connection: the
// shared part, the first connection, the marginal cost of each further one
// (live peak and per model footprint), and each connection's own peak.
#pragma once

#include "tlsheap/replay_engine.h"

#include <cstdio>

namespace tlsheap::report {

// Prints nothing when the result has no connection costs.
void print_connection_costs(std::FILE* out, const replay::ReplayResult& r);

} // namespace tlsheap::report
