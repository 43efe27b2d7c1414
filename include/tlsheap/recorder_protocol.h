// The lines the recorder prints on stdout for tlsheap: the port it listens
// on, each handshake's time, and one line per run of an out-of-memory sweep.
// Header-only and standard C++ only (the recorder is compiled with every
// mbedTLS variant and for every target ABI).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace tlsheap::recorder_protocol {

// How a recorder run ended: its exit status, and CODE of a finished run's
// injection line.
enum class RunStatus {
    Ok = 0,
    Usage = 2,      // the options ask for something this variant cannot do
    TlsFailure = 3, // mbedTLS returned an error
    Timeout = 4,    // the peer did not answer in time
    Transport = 5,  // connect/accept/socket failure
};

// `--stack-size BYTES`: the recorder runs on a painted stack of this size and
// writes StackHighWater records (src/recorder/painted_stack.h); 0, its
// default, runs it on its own stack, unmeasured. Scanning the painted stack
// at every allocation makes a handshake tens of times slower, so tlsheap asks
// for it only with `profile --stack`. The deepest handshake measured uses a
// few KiB; a 256 KiB stack leaves room for any configuration.
inline constexpr std::uint64_t kPaintedStackBytes = 256 * 1024;
inline constexpr std::uint64_t kMinPaintedStack = 64 * 1024;
inline constexpr std::uint64_t kMaxPaintedStack = 64 * 1024 * 1024;

// `--application NAME`: what the client says after the handshake.
//   http  a GET for --response-bytes, the answer read as --read-until says
//   mqtt  an MQTT 3.1.1 session (src/recorder/mqtt_packets.h): CONNECT,
//         SUBSCRIBE to kMqttTopic at QoS 1, PUBLISH --publish-bytes to it at
//         QoS 1, its PUBACK and the broker's echo (acknowledged), PINGREQ,
//         DISCONNECT
//   coap  over DTLS: a confirmable CoAP GET of --coap-path (RFC 7252,
//         src/recorder/coap_messages.h); the server answers 2.05 Content
//         with --response-bytes (the mbedTLS peer) or its own resource
enum class Application : std::uint8_t { Http, Mqtt, Coap };
inline constexpr std::string_view application_name(Application a) {
    return a == Application::Mqtt ? "mqtt" : a == Application::Coap ? "coap" : "http";
}
inline std::optional<Application> application_from_name(std::string_view name) {
    for (Application a : {Application::Http, Application::Mqtt, Application::Coap}) {
        if (application_name(a) == name) {
            return a;
        }
    }
    return std::nullopt;
}
// The header block of the mbedTLS peer's answer to a GET (and of the one
// openssl s_server sends over DTLS, from a file).
inline constexpr std::string_view kHttpAnswerHeader =
    "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n";

// The CoAP request's message id and token: fixed, so that two recordings
// send the same bytes.
inline constexpr std::uint16_t kCoapMessageId = 0x7e11;
inline constexpr std::string_view kCoapToken = "tlsheap";
inline constexpr std::string_view kMqttClientId = "tlsheap-recorder";
inline constexpr std::string_view kMqttTopic = "tlsheap/heap";
inline constexpr std::uint16_t kMqttKeepAliveSeconds = 60;
// The largest --publish-bytes (and scenario publish_bytes): with its topic,
// well within MQTT's largest Remaining Length.
inline constexpr std::uint64_t kMaxPublishBytes = 16u << 20;

// DTLS (`--transport datagram`).
//   --cid BYTES         the recorder's own connection ID (RFC 9146), 0 to
//                       kMaxCidBytes; without it no CID is offered
//   --cookies           server: HelloVerifyRequest with real cookies
//                       (mbedtls_ssl_cookie); without it the server skips it
//   --mtu BYTES         mbedtls_ssl_set_mtu: handshake messages above it are
//                       sent in fragments
//   --drop-datagram K   the recorded side discards the K-th datagram each
//                       connection receives; its retransmission timer then
//                       fires once the socket has been quiet for
//                       kRetransmitQuietMs (the recorder's clock: no wall-clock
//                       timer decides anything else)
inline constexpr std::uint64_t kMaxCidBytes = 32; // MBEDTLS_SSL_CID_IN_LEN_MAX
inline constexpr std::uint64_t kMinMtu = 128;
inline constexpr std::uint64_t kMaxMtu = 16384;
inline constexpr std::uint64_t kMaxDropDatagram = 1000;
inline constexpr unsigned kRetransmitQuietMs = 200;

// `--read-until RULE`: when a client stops reading the server's answer.
//   response   the scenario's: an HTTP header block, then --response-bytes
//   close      until the server closes (close_notify or end of stream)
//   bytes:N    N bytes of application data in all
//   quiet:MS   until nothing arrives for MS milliseconds
// A server that closes before the rule is met ends the exchange with a note
// when the client was given `--short-answer-ok` (a server the user runs
// answers as it likes); otherwise that is a failure.
enum class ReadUntil : std::uint8_t { Response, Close, Bytes, Quiet };
struct ReadRule {
    ReadUntil until = ReadUntil::Response;
    std::uint64_t value = 0; // Bytes: bytes; Quiet: milliseconds
};
inline constexpr std::uint64_t kMaxReadBytes = 1ull << 30;
inline constexpr std::uint64_t kMaxQuietMs = 600000;

inline std::string read_rule_text(ReadRule rule) {
    switch (rule.until) {
    case ReadUntil::Response:
        return "response";
    case ReadUntil::Close:
        return "close";
    case ReadUntil::Bytes:
        return "bytes:" + std::to_string(rule.value);
    case ReadUntil::Quiet:
        return "quiet:" + std::to_string(rule.value);
    }
    return "response";
}

// The rule `text` names, within its bounds (1..kMaxReadBytes bytes,
// 1..kMaxQuietMs ms), or nothing.
inline std::optional<ReadRule> read_rule_from_text(std::string_view text) {
    if (text == "response") {
        return ReadRule{ReadUntil::Response, 0};
    }
    if (text == "close") {
        return ReadRule{ReadUntil::Close, 0};
    }
    for (const auto& [prefix, until, most] :
         {std::tuple{std::string_view("bytes:"), ReadUntil::Bytes, kMaxReadBytes},
          std::tuple{std::string_view("quiet:"), ReadUntil::Quiet, kMaxQuietMs}}) {
        if (text.substr(0, prefix.size()) != prefix) {
            continue;
        }
        const std::string_view number = text.substr(prefix.size());
        std::uint64_t value = 0;
        const auto [end, error] =
            std::from_chars(number.data(), number.data() + number.size(), value);
        if (number.empty() || error != std::errc() || end != number.data() + number.size() ||
            value == 0 || value > most) {
            return std::nullopt;
        }
        return ReadRule{until, value};
    }
    return std::nullopt;
}

// "LISTENING <port>": a server recorder is ready.
inline constexpr std::string_view kListening = "LISTENING ";
// "handshake_ns <N>" after each run (--report-timing).
inline constexpr std::string_view kHandshakeNs = "handshake_ns ";

// One run of `--fail-allocations` or `--pool-sweep`, tab-separated, in
// this order:
//   injection  K  END  CODE  FAILED  BYTES  RET  STATE  LEAK_BYTES  LEAK_BLOCKS  LEAK_ORDINALS TEXT
// K: the run's parameter: the mbedtls_calloc call (from 1) made to return
// NULL, or the pool's size in bytes. END says how the run ended and what
// CODE is. FAILED: the first call that got NULL (K itself once reached; on
// a pool, the first it refused; 0: none), BYTES what it asked for.
// RET/STATE: mbedTLS's error and the handshake state of the failure (0 and
// "-" when there is none). LEAK_*: the blocks still allocated after every
// context was freed, and the calls that made them (the first
// kMaxLeakOrdinals, comma-separated). TEXT: the error line, or the first
// line the run wrote on stderr. Fields FAILED to LEAK_ORDINALS are "-" when
// the run did not report.
// What a client recorder's forked runs sweep (`--fail-allocations`,
// `--pool-sweep`): the mbedtls_calloc call made to fail, counted up from
// fail_first, or the pool's size, counted down from pool_high.
struct RunSweep {
    std::uint64_t fail_first = 0;
    std::uint64_t fail_last = 0;
    std::uint64_t fail_step = 1;
    std::uint64_t pool_high = 0;
    std::uint64_t pool_low = 0;
    std::uint64_t pool_step = 1;

    bool active() const { return fail_first != 0 || pool_high != 0; }
    bool pools() const { return pool_high != 0; }
    std::uint64_t runs() const {
        if (pools()) {
            return (pool_high - pool_low) / pool_step + 1;
        }
        return fail_first != 0 ? (fail_last - fail_first) / fail_step + 1 : 0;
    }
    // Run i's parameter (i < runs()).
    std::uint64_t parameter(std::uint64_t i) const {
        return pools() ? pool_high - i * pool_step : fail_first + i * fail_step;
    }
};

inline constexpr std::string_view kInjection = "injection";
inline constexpr char kFieldSeparator = '\t';
inline constexpr std::string_view kNotReported = "-";
inline constexpr unsigned kInjectionFields = 12;
inline constexpr unsigned kMaxLeakOrdinals = 8;

enum class RunEnd : std::uint8_t {
    Finished, // the run reported; CODE is its RunStatus
    Signal,   // killed by signal CODE
    Exited,   // exited with CODE without reporting (a sanitizer's report)
    Stopped,  // the watchdog stopped it after CODE seconds: a hang
};

inline constexpr std::string_view run_end_name(RunEnd end) {
    switch (end) {
    case RunEnd::Finished:
        return "finished";
    case RunEnd::Signal:
        return "signal";
    case RunEnd::Exited:
        return "exited";
    case RunEnd::Stopped:
        return "stopped";
    }
    return "finished";
}

inline std::optional<RunEnd> run_end_from_name(std::string_view name) {
    for (RunEnd e : {RunEnd::Finished, RunEnd::Signal, RunEnd::Exited, RunEnd::Stopped}) {
        if (run_end_name(e) == name) {
            return e;
        }
    }
    return std::nullopt;
}

} // namespace tlsheap::recorder_protocol
