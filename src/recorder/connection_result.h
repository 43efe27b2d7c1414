// How a recorded connection ended, and the one way every step reports a
// failure: the result the recorder exits with and the Failure outcome in the
// trace always say the same thing.
#pragma once

#include "tlsheap/recorder_protocol.h"

#include <string>

namespace tlsheap::recorder {

// The recorder's exit status, which tlsheap reads (recorder_protocol.h).
using ConnectionStatus = recorder_protocol::RunStatus;

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
