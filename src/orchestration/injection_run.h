// One run of an out-of-memory sweep as the recorder reported it
// (recorder_protocol.h): how it ended, mbedTLS's error, and what it leaked.
#pragma once

#include "tlsheap/recorder_protocol.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsheap::record {

struct InjectionRun {
    // The run's parameter: the mbedtls_calloc call made to return NULL
    // (from 1), or in a pool sweep the pool's bytes.
    std::uint64_t call = 0;
    recorder_protocol::RunEnd end = recorder_protocol::RunEnd::Finished;
    long code = 0;                 // ConnectionStatus, signal, exit status or seconds (per `end`)
    bool reported = false;         // the fields below are the run's own
    std::uint64_t failed_call = 0; // the first call that got NULL (0: none)
    std::uint64_t requested_bytes = 0; // what it asked for
    int ret = 0;                       // mbedTLS's error; 0 when the run succeeded
    std::string state;                 // handshake state of the failure ("" : none)
    std::uint64_t leaked_bytes = 0;
    std::uint64_t leaked_blocks = 0;
    std::vector<std::uint64_t> leak_calls; // the calls that made the first leaked blocks
    std::string text;                      // error line, or the first line on stderr
};

// One injection line; nullopt if it is not one or is malformed.
std::optional<InjectionRun> parse_injection_line(std::string_view line);

} // namespace tlsheap::record
