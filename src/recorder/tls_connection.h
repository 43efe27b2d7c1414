// One TLS connection, driven through the five phases the trace knows:
// SETUP (entropy/DRBG, certificates and keys, ssl_config, ssl_setup),
// HANDSHAKE (one mbedtls_ssl_handshake_step() at a time, so that every
// allocation is attributed to the state being processed), APPLICATION (the
// scripted HTTP-like exchange), CLOSE (close_notify) and TEARDOWN (every
// context freed; what is still alive afterwards is a leak).
#pragma once

#include "recorder_options.h"

#include <string>

namespace tlsheap::recorder {

class Listener;

enum class ConnectionStatus {
    Ok = 0,
    Usage = 2,      // the options ask for something this variant cannot do
    TlsFailure = 3, // mbedTLS returned an error
    Timeout = 4,    // the peer did not answer in time
    Transport = 5,  // connect/accept/socket failure
};

struct ConnectionResult {
    ConnectionStatus status = ConnectionStatus::Ok;
    std::string error; // one line when status != Ok
    unsigned long long handshake_ns = 0;
};

// Client: connects to options.connect_host:connect_port. Server: accepts one
// connection from `listener`.
ConnectionResult run_connection(const RecorderOptions& options, Listener* listener);

} // namespace tlsheap::recorder
