// Runs that each start from the same process state, for `tlsheap oom`: every
// run is a fork of a process that has done nothing yet, so run k sees the
// allocations, random bytes and peer's answers that run 1 saw, up to the
// call that fails.
#pragma once

#include "recorder_options.h"

namespace tlsheap::recorder {

class Listener;

// Client: for every parameter of options.sweep, a forked run in which that
// call of mbedtls_calloc returns NULL, or that runs on mbedTLS's
// memory_buffer_alloc with a pool of that size.
// Prints one recorder_protocol injection line per run. After each run a bare
// connection to the peer ends whatever run the peer was still in, so that
// the next run meets a fresh one. Returns the exit status.
int sweep_allocation_failures(const RecorderOptions& options);

// Server: serves runs until stopped, each from a fresh fork (a failed run
// does not end the serving, as it does in an ordinary run).
int serve_forked_runs(const RecorderOptions& options, Listener& listener);

} // namespace tlsheap::recorder
