// Drives one run's connections through the five phases the trace knows:
// SETUP (the library's heap and what connections share, as connection 0;
// then each connection's own context and socket), HANDSHAKE, APPLICATION,
// CLOSE (close_notify) and TEARDOWN (every context freed, the shared part
// last; what is still alive afterwards is a leak). The lifecycle says how
// many connections, how they start and how many cycles; the trace names the
// connection whose code runs before each of its events.
#pragma once

#include "connection_result.h"
#include "recorder_options.h"

namespace tlsheap::recorder {

class Listener;

// Client: connects to options.connect_host:connect_port. Server: accepts
// from `listener`, in the order the clients connected. Both sides of a
// lifecycle run the same steps in the same order, so that an mbedTLS peer
// serves an interleaved client (and the other way round) in lock step.
ConnectionResult run_lifecycle(const RecorderOptions& options, Listener* listener);

} // namespace tlsheap::recorder
