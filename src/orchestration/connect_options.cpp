#include "orchestration/connect_options.h"

#include "tlsheap/recorder_protocol.h"

#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tlsheap::record {

namespace fs = std::filesystem;

bool ConnectOptions::changes_handshake() const {
    return !protocol.empty() || !ciphersuites.empty() || !groups.empty() || !psk_hex.empty() ||
           !psk_identity.empty() || !client_cert.empty() || !client_key.empty();
}

bool ConnectOptions::any() const {
    return changes_handshake() || request.has_value() || !read_until.empty();
}

std::string ConnectOptions::summary() const {
    std::vector<std::string> parts;
    auto add = [&](const char* option, const std::string& value) {
        if (!value.empty()) {
            parts.push_back(fmt::format("{} {}", option, value));
        }
    };
    add("--protocol", protocol);
    for (const std::string& c : ciphersuites) {
        add("--ciphersuite", c);
    }
    for (const std::string& g : groups) {
        add("--group", g);
    }
    if (!psk_hex.empty()) {
        parts.push_back("--psk (hidden)");
    }
    add("--psk-identity", psk_identity);
    for (const std::string& c : client_cert) {
        add("--client-cert", c);
    }
    add("--client-key", client_key);
    if (request) {
        std::string problem;
        parts.push_back(fmt::format("--request ({} bytes)",
                                    unescape_request(*request, problem).value_or("").size()));
    }
    add("--read-until", read_until);
    return fmt::format("{}", fmt::join(parts, " "));
}

namespace {

int hex_digit(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

// The largest request a client sends: a request line and headers, not a body.
constexpr std::size_t kMaxRequestBytes = 64 * 1024;
// A PSK longer than any key exchange takes (mbedTLS caps it at
// MBEDTLS_PSK_MAX_LEN, 32 or 48 bytes by default); the recorder says if the
// variant's cap is lower.
constexpr std::size_t kMaxPskBytes = 256;
constexpr std::size_t kMaxPskIdentityBytes = 1024;

} // namespace

std::optional<std::string> unescape_request(const std::string& typed, std::string& problem) {
    std::string out;
    for (std::size_t i = 0; i < typed.size(); ++i) {
        if (typed[i] != '\\') {
            out += typed[i];
            continue;
        }
        if (++i == typed.size()) {
            problem = "--request ends in a lone backslash";
            return std::nullopt;
        }
        switch (typed[i]) {
        case 'r':
            out += '\r';
            break;
        case 'n':
            out += '\n';
            break;
        case 't':
            out += '\t';
            break;
        case '0':
            out += '\0';
            break;
        case '\\':
        case '"':
            out += typed[i];
            break;
        case 'x':
            if (i + 2 >= typed.size() || hex_digit(typed[i + 1]) < 0 ||
                hex_digit(typed[i + 2]) < 0) {
                problem = "--request: \\x needs two hex digits";
                return std::nullopt;
            }
            out += static_cast<char>(hex_digit(typed[i + 1]) * 16 + hex_digit(typed[i + 2]));
            i += 2;
            break;
        default:
            problem = fmt::format(
                "--request: unknown escape \\{} (\\r \\n \\t \\0 \\\\ \\\" \\xHH)", typed[i]);
            return std::nullopt;
        }
    }
    if (out.size() > kMaxRequestBytes) {
        problem =
            fmt::format("--request is {} bytes; at most {} are sent", out.size(), kMaxRequestBytes);
        return std::nullopt;
    }
    return out;
}

std::string connect_options_problem(const ConnectOptions& o, bool connecting) {
    if (o.any() && !connecting) {
        return "--protocol, --ciphersuite, --group, --psk, --client-cert, --request and "
               "--read-until describe a server you run: they need --connect (a local peer "
               "follows the scenario)";
    }
    if (!o.protocol.empty() && o.protocol != "tls1.2" && o.protocol != "tls1.3" &&
        o.protocol != "any") {
        return "--protocol takes tls1.2, tls1.3 or any, not '" + o.protocol + "'";
    }
    if (o.psk_hex.empty() != o.psk_identity.empty()) {
        return "--psk and --psk-identity go together";
    }
    if (!o.psk_hex.empty() && (!is_hex_key(o.psk_hex) || o.psk_hex.size() / 2 > kMaxPskBytes)) {
        return fmt::format("--psk takes the key in hex digits, two a byte, at most {} bytes",
                           kMaxPskBytes);
    }
    if (o.psk_identity.size() > kMaxPskIdentityBytes) {
        return fmt::format("--psk-identity is longer than {} bytes", kMaxPskIdentityBytes);
    }
    if (o.client_cert.empty() != o.client_key.empty()) {
        return "--client-cert and --client-key go together";
    }
    if (!o.psk_hex.empty() && !o.client_cert.empty()) {
        return "--psk and --client-cert: one or the other (tlsheap's PSK handshakes send no "
               "certificate)";
    }
    if (o.client_cert.size() > kMaxCredentialFiles) {
        return fmt::format("at most {} --client-cert files", kMaxCredentialFiles);
    }
    std::vector<std::string> files = o.client_cert;
    if (!o.client_key.empty()) {
        files.push_back(o.client_key);
    }
    for (const std::string& f : files) {
        std::error_code ec;
        if (!fs::is_regular_file(f, ec)) {
            return "credential file " + f + " does not exist (or is not a file)";
        }
        if (fs::file_size(f, ec) > kMaxCredentialBytes) {
            return fmt::format("credential file {} is larger than {} bytes", f,
                               kMaxCredentialBytes);
        }
    }
    if (o.request) {
        std::string problem;
        if (!unescape_request(*o.request, problem)) {
            return problem;
        }
    }
    if (!o.read_until.empty() && !recorder_protocol::read_rule_from_text(o.read_until)) {
        return fmt::format("--read-until takes response, close, bytes:N (1 to {}) or quiet:MS "
                           "(1 to {}), not '{}'",
                           recorder_protocol::kMaxReadBytes, recorder_protocol::kMaxQuietMs,
                           o.read_until);
    }
    return {};
}

Scenario with_connect_options(Scenario s, const ConnectOptions& o) {
    if (!o.protocol.empty()) {
        s.protocol = o.protocol;
    }
    if (!o.ciphersuites.empty()) {
        s.mbedtls_ciphersuites = o.ciphersuites;
    } else if (!o.protocol.empty() || !o.psk_hex.empty()) {
        s.mbedtls_ciphersuites.clear();
    }
    if (!o.groups.empty()) {
        s.groups = o.groups;
    }
    if (!o.psk_hex.empty()) {
        s.auth_mode = "psk";
        s.psk_hex = o.psk_hex;
        s.psk_identity = o.psk_identity;
    }
    if (!o.client_cert.empty()) {
        s.auth_mode = "mutual";
        s.client_chain.assign(o.client_cert.begin(), o.client_cert.end());
        for (fs::path& p : s.client_chain) {
            p = fs::absolute(p);
        }
        s.client_key = fs::absolute(o.client_key);
    }
    if (o.changes_handshake()) {
        s.requires_.clear();
    }
    return s;
}

std::vector<std::string> external_exchange_arguments(const ConnectOptions& o) {
    std::vector<std::string> a = {"--short-answer-ok"};
    if (o.request) {
        std::string problem;
        const std::string bytes = unescape_request(*o.request, problem).value_or("");
        std::string hex;
        for (const unsigned char c : bytes) {
            hex += fmt::format("{:02x}", c);
        }
        a.insert(a.end(), {"--request-hex", hex});
    }
    if (!o.read_until.empty()) {
        a.insert(a.end(), {"--read-until", o.read_until});
    }
    return a;
}

} // namespace tlsheap::record
