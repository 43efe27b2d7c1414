// The recorder's command line. tlsheap translates a scenario into these
// options; the recorder parses no JSON and links no third-party library.
#pragma once

#include "tlsheap/connection_lifecycle.h"
#include "tlsheap/recorder_protocol.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/trace_meta.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tlsheap::recorder {

// The side the recorder plays.
using Mode = tls::Side;

struct RecorderOptions {
    Mode mode = Mode::Client;
    std::string connect_host; // client
    std::string connect_port;
    std::string listen_host = "127.0.0.1"; // server
    std::string listen_port = "0";
    // Whole runs in a row (benchmarks): server, the runs it accepts; client,
    // the runs it makes. Each run builds its own shared config.
    unsigned accept_count = 1;
    unsigned repeat = 1;
    // The connections of one run, sharing one config (both sides the same).
    lifecycle::Lifecycle lifecycle;

    std::string trace_path; // empty: do not record
    bool capture_stacks = true;
    std::vector<std::pair<std::string, std::string>> meta;

    std::string min_version = "tls1.2";
    std::string max_version = "tls1.3";
    std::vector<std::string> ciphersuites;
    std::vector<std::string> groups;
    std::vector<std::string> ca_files;
    std::vector<std::string> cert_files; // own chain, leaf first
    std::string key_file;
    std::string psk_hex;
    std::string psk_identity;
    std::string auth = "required"; // none|optional|required
    std::string server_name;

    // DTLS over UDP instead of TLS over TCP (recorder_protocol.h: --cid,
    // --cookies, --mtu, --drop-datagram).
    bool datagram = false;
    long cid_bytes = -1; // own connection ID length; -1: no CID
    bool cookies = false;
    unsigned mtu = 0; // 0: mbedTLS's default (none)
    unsigned drop_datagram = 0;

    recorder_protocol::Application application = recorder_protocol::Application::Http;
    std::string coap_path = "/";         // coap: the resource the client GETs and the server serves
    std::uint64_t response_bytes = 1024; // http: the answer's size
    std::uint64_t publish_bytes = 256;   // mqtt: the PUBLISH payload
    // Client: what it sends after the handshake (`--request-hex`; unset: a
    // GET for response_bytes), how long it reads the answer, and whether a
    // server that closes first ends the exchange with a note, not a failure.
    std::string request;
    bool request_set = false;
    recorder_protocol::ReadRule read_rule;
    bool short_answer_ok = false;
    // Client: maximum fragment length to ask for. 0: automatic, the largest
    // of 512/1024/2048/4096 that fits MBEDTLS_SSL_IN_CONTENT_LEN when that
    // is below 16384 (what a device with small buffers must do); -1: none.
    long max_fragment = 0;
    unsigned timeout_ms = 10000;
    std::uint64_t seed = 1;
    trace::meta::PsaInit psa_init = trace::meta::PsaInit::Auto;
    std::uint64_t fixed_time = 0; // seconds since 1970 for the library's clock; 0: real
    std::uint64_t pool_size = 0;  // 0: libc behind the shim
    // The painted stack the recorder runs on (painted_stack.h,
    // recorder_protocol::kPaintedStackBytes); 0: its own stack, unmeasured.
    std::uint64_t stack_size = 0;
    bool report_timing = false;

    // Out-of-memory injection (forked_runs.h). Client: one forked run per
    // call to fail or per pool size. Server: fork_runs serves runs until
    // stopped, each from a fresh fork.
    recorder_protocol::RunSweep sweep;
    bool fork_runs = false;
};

// Pairs of hex digits (either case) as the bytes they spell; false on
// anything else.
bool hex_decode(const std::string& hex, std::vector<unsigned char>& out);

// Parses argv. On error returns false and sets `error` to one line.
bool parse_recorder_options(int argc, char** argv, RecorderOptions& options, std::string& error);

} // namespace tlsheap::recorder
