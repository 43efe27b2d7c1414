// How a recorded connection ended, and the one way every step reports a
// failure: the result the recorder exits with and the Failure outcome in the
// trace always say the same thing.
#pragma once

#include <string>

namespace tlsheap::recorder {

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
    int ret = 0;       // mbedTLS's error (-1: none) when status != Ok
    int state = -1;    // the handshake state it failed in
    unsigned long long handshake_ns = 0;
};

// Sets `result` and records the Failure outcome (mbedTLS's `ret`, -1 when
// there is none, in handshake `state`). Returns false, so that a step can
// end with `return report_failure(...)`.
bool report_failure(ConnectionResult& result, ConnectionStatus status, int ret, int state,
                    const std::string& error);

// A request this variant cannot serve (status Usage, no mbedTLS error).
bool report_usage(ConnectionResult& result, int state, const std::string& error);

// "<doing> failed in state <STATE>: <mbedTLS error>", the start of every
// TlsFailure message.
std::string describe_tls_failure(int ret, int state, const char* doing);

// The state's mbedTLS name without prefix, as the trace names it.
std::string state_name(int state);

} // namespace tlsheap::recorder
