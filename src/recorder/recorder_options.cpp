#include "recorder_options.h"

#include <cstdlib>
#include <cstring>
#include <string>

namespace tlsheap::recorder {

namespace {

bool parse_number(const char* text, std::uint64_t& out) {
    if (text == nullptr || *text == '\0') {
        return false;
    }
    char* end = nullptr;
    out = std::strtoull(text, &end, 10);
    return *end == '\0';
}

bool split_host_port(const std::string& text, std::string& host, std::string& port) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
        return false;
    }
    host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    port = text.substr(colon + 1);
    return true;
}

// "A-B" or "A-B/STEP", counting calls up from 1 (FIRST <= LAST) or pool
// bytes down (HIGH >= LOW >= 1).
bool parse_range(const std::string& option, const char* text, std::uint64_t& a, std::uint64_t& b,
                 std::uint64_t& step, bool descending, std::string& error) {
    const std::string t = text;
    const auto dash = t.find('-');
    const auto slash = t.find('/');
    step = 1;
    if (dash == std::string::npos || !parse_number(t.substr(0, dash).c_str(), a) ||
        !parse_number(t.substr(dash + 1, slash - dash - 1).c_str(), b) ||
        (slash != std::string::npos && !parse_number(t.substr(slash + 1).c_str(), step)) ||
        step == 0 || (descending ? b == 0 || a < b : a == 0 || b < a)) {
        error = option +
                (descending ? " needs HIGH-LOW[/STEP] with 1 <= LOW <= HIGH, not '"
                            : " needs FIRST-LAST[/STEP] with 1 <= FIRST <= LAST, not '") +
                t + "'";
        return false;
    }
    return true;
}

} // namespace

bool hex_decode(const std::string& hex, std::vector<unsigned char>& out) {
    auto digit = [](char c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
    };
    if (hex.size() % 2 != 0) {
        return false;
    }
    out.clear();
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = digit(hex[i]);
        const int lo = digit(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out.push_back(static_cast<unsigned char>(hi * 16 + lo));
    }
    return true;
}

bool parse_recorder_options(int argc, char** argv, RecorderOptions& o, std::string& error) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&](const char*& v) {
            if (i + 1 >= argc) {
                error = "option " + arg + " needs a value";
                return false;
            }
            v = argv[++i];
            return true;
        };
        auto number = [&](std::uint64_t& out) {
            const char* v = nullptr;
            if (!value(v)) {
                return false;
            }
            if (!parse_number(v, out)) {
                error = "option " + arg + " needs a number, not '" + v + "'";
                return false;
            }
            return true;
        };
        const char* v = nullptr;
        std::uint64_t n = 0;
        if (arg == "--mode") {
            if (!value(v)) {
                return false;
            }
            if (const auto side = tls::side_from_name(v)) {
                o.mode = *side;
            } else {
                error = std::string("unknown mode '") + v + "' (client|server)";
                return false;
            }
        } else if (arg == "--connect" || arg == "--listen") {
            if (!value(v)) {
                return false;
            }
            std::string& host = arg == "--connect" ? o.connect_host : o.listen_host;
            std::string& port = arg == "--connect" ? o.connect_port : o.listen_port;
            if (!split_host_port(v, host, port)) {
                error = arg + " needs HOST:PORT, not '" + v + "'";
                return false;
            }
        } else if (arg == "--accept-count" || arg == "--repeat" || arg == "--timeout-ms") {
            if (!number(n)) {
                return false;
            }
            if (n == 0 || n > 1000000) {
                error = arg + " must be between 1 and 1000000";
                return false;
            }
            (arg == "--accept-count" ? o.accept_count
             : arg == "--repeat"     ? o.repeat
                                     : o.timeout_ms) = static_cast<unsigned>(n);
        } else if (arg == "--connections" || arg == "--reconnects") {
            if (!number(n)) {
                return false;
            }
            const bool connections = arg == "--connections";
            const unsigned most =
                connections ? lifecycle::kMaxConnections : lifecycle::kMaxReconnects;
            if (n == 0 || n > most) {
                error = arg + " must be between 1 and " + std::to_string(most);
                return false;
            }
            (connections ? o.lifecycle.connections : o.lifecycle.reconnects) =
                static_cast<unsigned>(n);
        } else if (arg == "--start") {
            if (!value(v)) {
                return false;
            }
            if (const auto start = lifecycle::start_from_name(v)) {
                o.lifecycle.start = *start;
            } else {
                error = std::string("--start takes together or staggered, not '") + v + "'";
                return false;
            }
        } else if (arg == "--resume") {
            if (!value(v)) {
                return false;
            }
            if (const auto resume = lifecycle::resume_from_name(v)) {
                o.lifecycle.resume = *resume;
            } else {
                error = std::string("--resume takes none, session-id or ticket, not '") + v + "'";
                return false;
            }
        } else if (arg == "--psa-init") {
            if (!value(v)) {
                return false;
            }
            if (const auto policy = trace::meta::psa_init_from_name(v)) {
                o.psa_init = *policy;
            } else {
                error = std::string("--psa-init takes auto, always or never, not '") + v + "'";
                return false;
            }
        } else if (arg == "--early-data") {
            o.lifecycle.early_data = true;
        } else if (arg == "--trace") {
            if (!value(v)) {
                return false;
            }
            o.trace_path = v;
        } else if (arg == "--no-stacks") {
            o.capture_stacks = false;
        } else if (arg == "--report-timing") {
            o.report_timing = true;
        } else if (arg == "--meta") {
            if (!value(v)) {
                return false;
            }
            const char* eq = std::strchr(v, '=');
            if (eq == nullptr) {
                error = std::string("--meta needs KEY=VALUE, not '") + v + "'";
                return false;
            }
            o.meta.emplace_back(std::string(v, eq), std::string(eq + 1));
        } else if (arg == "--min-version" || arg == "--max-version") {
            if (!value(v)) {
                return false;
            }
            if (std::strcmp(v, "tls1.2") != 0 && std::strcmp(v, "tls1.3") != 0) {
                error = arg + " takes tls1.2 or tls1.3, not '" + v + "'";
                return false;
            }
            (arg == "--min-version" ? o.min_version : o.max_version) = v;
        } else if (arg == "--ciphersuite" || arg == "--group" || arg == "--ca" || arg == "--cert") {
            if (!value(v)) {
                return false;
            }
            (arg == "--ciphersuite" ? o.ciphersuites
             : arg == "--group"     ? o.groups
             : arg == "--ca"        ? o.ca_files
                                    : o.cert_files)
                .emplace_back(v);
        } else if (arg == "--key" || arg == "--psk" || arg == "--psk-identity" ||
                   arg == "--server-name" || arg == "--auth") {
            if (!value(v)) {
                return false;
            }
            (arg == "--key"            ? o.key_file
             : arg == "--psk"          ? o.psk_hex
             : arg == "--psk-identity" ? o.psk_identity
             : arg == "--server-name"  ? o.server_name
                                       : o.auth) = v;
        } else if (arg == "--response-bytes") {
            if (!number(o.response_bytes)) {
                return false;
            }
        } else if (arg == "--application") {
            if (!value(v)) {
                return false;
            }
            if (const auto a = recorder_protocol::application_from_name(v)) {
                o.application = *a;
            } else {
                error = std::string("--application takes http, mqtt or coap, not '") + v + "'";
                return false;
            }
        } else if (arg == "--transport") {
            if (!value(v)) {
                return false;
            }
            const std::string t = v;
            if (t != trace::meta::kTransportStream && t != trace::meta::kTransportDatagram) {
                error = "--transport takes stream or datagram, not '" + t + "'";
                return false;
            }
            o.datagram = t == trace::meta::kTransportDatagram;
        } else if (arg == "--cid" || arg == "--mtu" || arg == "--drop-datagram") {
            if (!number(n)) {
                return false;
            }
            const bool cid = arg == "--cid";
            const std::uint64_t low = cid ? 0 : arg == "--mtu" ? recorder_protocol::kMinMtu : 1;
            const std::uint64_t high = cid              ? recorder_protocol::kMaxCidBytes
                                       : arg == "--mtu" ? recorder_protocol::kMaxMtu
                                                        : recorder_protocol::kMaxDropDatagram;
            if (n < low || n > high) {
                error = arg + " takes " + std::to_string(low) + " to " + std::to_string(high) +
                        ", not " + std::to_string(n);
                return false;
            }
            if (cid) {
                o.cid_bytes = static_cast<long>(n);
            } else {
                (arg == "--mtu" ? o.mtu : o.drop_datagram) = static_cast<unsigned>(n);
            }
        } else if (arg == "--cookies") {
            o.cookies = true;
        } else if (arg == "--coap-path") {
            if (!value(v)) {
                return false;
            }
            o.coap_path = v;
            if (o.coap_path.empty() || o.coap_path.front() != '/' || o.coap_path.size() > 255) {
                error = "--coap-path takes a path starting with '/', of at most 255 bytes";
                return false;
            }
        } else if (arg == "--publish-bytes") {
            if (!number(o.publish_bytes)) {
                return false;
            }
            if (o.publish_bytes > recorder_protocol::kMaxPublishBytes) {
                error = "--publish-bytes must be at most " +
                        std::to_string(recorder_protocol::kMaxPublishBytes);
                return false;
            }
        } else if (arg == "--request-hex") {
            if (!value(v)) {
                return false;
            }
            std::vector<unsigned char> bytes;
            if (!hex_decode(v, bytes)) {
                error = std::string("--request-hex needs hex digits in pairs, not '") + v + "'";
                return false;
            }
            o.request.assign(bytes.begin(), bytes.end());
            o.request_set = true;
        } else if (arg == "--read-until") {
            if (!value(v)) {
                return false;
            }
            if (const auto rule = recorder_protocol::read_rule_from_text(v)) {
                o.read_rule = *rule;
            } else {
                error = std::string("--read-until takes response, close, bytes:N or quiet:MS, "
                                    "not '") +
                        v + "'";
                return false;
            }
        } else if (arg == "--short-answer-ok") {
            o.short_answer_ok = true;
        } else if (arg == "--fixed-time") {
            if (!number(o.fixed_time)) {
                return false;
            }
        } else if (arg == "--max-fragment") {
            if (!value(v)) {
                return false;
            }
            const std::string m = v;
            if (m == "auto") {
                o.max_fragment = 0;
            } else if (m == "none") {
                o.max_fragment = -1;
            } else if (m == "512" || m == "1024" || m == "2048" || m == "4096") {
                o.max_fragment = std::stol(m);
            } else {
                error = "--max-fragment takes auto, none, 512, 1024, 2048 or 4096, not '" + m + "'";
                return false;
            }
        } else if (arg == "--seed") {
            if (!number(o.seed)) {
                return false;
            }
        } else if (arg == "--pool-size") {
            if (!number(o.pool_size)) {
                return false;
            }
        } else if (arg == "--stack-size") {
            if (!number(o.stack_size)) {
                return false;
            }
            if (o.stack_size != 0 && (o.stack_size < recorder_protocol::kMinPaintedStack ||
                                      o.stack_size > recorder_protocol::kMaxPaintedStack)) {
                error = "--stack-size takes 0 (no painted stack) or " +
                        std::to_string(recorder_protocol::kMinPaintedStack) + " to " +
                        std::to_string(recorder_protocol::kMaxPaintedStack) + " bytes, not " +
                        std::to_string(o.stack_size);
                return false;
            }
        } else if (arg == "--fail-allocations") {
            if (!value(v) || !parse_range(arg, v, o.sweep.fail_first, o.sweep.fail_last,
                                          o.sweep.fail_step, false, error)) {
                return false;
            }
        } else if (arg == "--pool-sweep") {
            if (!value(v) || !parse_range(arg, v, o.sweep.pool_high, o.sweep.pool_low,
                                          o.sweep.pool_step, true, error)) {
                return false;
            }
        } else if (arg == "--fork-runs") {
            o.fork_runs = true;
        } else {
            error = "unknown option '" + arg + "'";
            return false;
        }
    }
    if (o.mode == Mode::Client && o.connect_host.empty()) {
        error = "client mode needs --connect HOST:PORT";
        return false;
    }
    if (o.auth != "none" && o.auth != "optional" && o.auth != "required") {
        error = "--auth takes none, optional or required, not '" + o.auth + "'";
        return false;
    }
    if (o.sweep.active() && (o.mode != Mode::Client || !o.trace_path.empty() || o.pool_size != 0 ||
                             (o.sweep.fail_first != 0 && o.sweep.pool_high != 0))) {
        error = "--fail-allocations and --pool-sweep are a client's, one at a time, without "
                "--trace or --pool-size";
        return false;
    }
    if (o.fork_runs && o.mode != Mode::Server) {
        error = "--fork-runs is a server's";
        return false;
    }
    using recorder_protocol::Application;
    if (o.mode != Mode::Client && (o.request_set || o.short_answer_ok ||
                                   o.read_rule.until != recorder_protocol::ReadUntil::Response ||
                                   o.application == Application::Mqtt)) {
        error = "--request-hex, --read-until, --short-answer-ok and --application mqtt are a "
                "client's";
        return false;
    }
    if (!o.datagram && (o.cid_bytes >= 0 || o.cookies || o.mtu != 0 || o.drop_datagram != 0 ||
                        o.application == Application::Coap)) {
        error = "--cid, --cookies, --mtu, --drop-datagram and --application coap need "
                "--transport datagram (DTLS)";
        return false;
    }
    if (o.datagram && o.application == Application::Mqtt) {
        error = "--application mqtt runs over TLS (a stream), not DTLS";
        return false;
    }
    if (o.cookies && o.mode != Mode::Server) {
        error = "--cookies is a server's";
        return false;
    }
    if (o.drop_datagram != 0 && o.fork_runs) {
        error = "--drop-datagram is the recorded side's, not --fork-runs'";
        return false;
    }
    if (o.psk_hex.empty() != o.psk_identity.empty()) {
        error = "--psk and --psk-identity go together";
        return false;
    }
    return true;
}

} // namespace tlsheap::recorder
