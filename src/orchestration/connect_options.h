// What `profile --connect` may change for a server the user runs: the
// scenario's protocol, cipher suites, groups and credentials, and the
// application exchange (what the client sends, how long it reads). What is
// not given stays the scenario's. Against such a server a short answer is
// not a failure: the handshake completed, and the report says how the answer
// ended.
#pragma once

#include "orchestration/scenario.h"

#include <optional>
#include <string>
#include <vector>

namespace tlsheap::record {

struct ConnectOptions {
    std::string protocol;                  // tls1.2 | tls1.3 | any; "": the scenario's
    std::vector<std::string> ciphersuites; // mbedTLS names (TLS-ECDHE-...)
    std::vector<std::string> groups;       // IANA names (secp256r1, x25519, ...)
    std::string psk_hex;
    std::string psk_identity;
    std::vector<std::string> client_cert; // the client's chain, leaf first
    std::string client_key;
    std::optional<std::string> request; // as typed, with C escapes (\r \n \t \\ \xHH)
    std::string read_until;             // recorder_protocol::ReadRule text; "": response

    // Whether any option changes the handshake (not only the exchange).
    bool changes_handshake() const;
    bool any() const;
    // The options given, as typed, the PSK itself left out (a trace or a
    // report may be shared): "--protocol tls1.3 --psk (hidden) ...".
    std::string summary() const;
};

// The bytes `typed` spells, its escapes \r \n \t \0 \\ \" and \xHH decoded;
// nothing (and `problem` set to one line) on an unknown or unfinished escape.
std::optional<std::string> unescape_request(const std::string& typed, std::string& problem);

// The first problem with `o` as one line, "" when there is none: a value
// out of its form, a file that is not there, options that go together given
// alone, or any of them without --connect (`connecting`).
std::string connect_options_problem(const ConnectOptions& o, bool connecting);

// `s` as the options change it. A new protocol or PSK without cipher suites
// offers mbedTLS's defaults (the scenario's suites may not fit); and
// the scenario's macro requirements, which follow its suites and
// credentials, are dropped when the handshake changes: the recorder then
// says what the variant lacks.
Scenario with_connect_options(Scenario s, const ConnectOptions& o);

// The recorder's arguments for the exchange: --request-hex, --read-until,
// and --short-answer-ok (a server the user runs answers as it likes).
std::vector<std::string> external_exchange_arguments(const ConnectOptions& o);

} // namespace tlsheap::record
