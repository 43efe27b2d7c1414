// Drives one connection through the five phases the trace knows: SETUP (the
// library's heap, then what connections share, then the connection's own
// context and socket), HANDSHAKE, APPLICATION, CLOSE (close_notify) and
// TEARDOWN (every context freed; what is still alive afterwards is a leak).
#pragma once

#include "connection_result.h"
#include "recorder_options.h"

namespace tlsheap::recorder {

class Listener;

// Client: connects to options.connect_host:connect_port. Server: accepts one
// connection from `listener`.
ConnectionResult run_connection(const RecorderOptions& options, Listener* listener);

} // namespace tlsheap::recorder
