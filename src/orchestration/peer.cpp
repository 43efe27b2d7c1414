#include "orchestration/peer.h"

#include "orchestration/record_error.h"
#include "orchestration/recorder_arguments.h"
#include "tlsheap/recorder_protocol.h"

#include <fstream>
#include <regex>

namespace tlsheap::record {

namespace fs = std::filesystem;

std::string openssl_version() {
    try {
        const auto r = process::run_command({"openssl", "version"}, std::chrono::seconds(10));
        std::string v = r.out.substr(0, r.out.find('\n'));
        return r.status == 0 ? v : std::string();
    } catch (const process::ProcessError&) {
        return {};
    }
}

Peer::Peer(const PeerRequest& request) {
    if (request.kind == "mbedtls") {
        start_mbedtls(request);
    } else if (request.kind == "openssl") {
        start_openssl(request);
    } else {
        throw RecordError("unknown peer '" + request.kind + "' (mbedtls, openssl)", 2);
    }
}

Peer::~Peer() {
    if (child_ && child_->running()) {
        child_->stop(std::chrono::milliseconds(1000));
    }
}

void Peer::finish(std::chrono::milliseconds grace) {
    if (child_ && child_->running() && !child_->wait(grace)) {
        child_->stop(std::chrono::milliseconds(1000));
    }
}

std::string Peer::error_line() const {
    if (!child_) {
        return {};
    }
    std::string line = child_->last_error_line();
    return line.rfind("error: ", 0) == 0 ? line.substr(7) : line;
}

namespace {

std::string port_text(unsigned port) {
    return "127.0.0.1:" + std::to_string(port);
}

[[noreturn]] void not_ready(const process::ChildProcess& child, const std::string& what,
                            unsigned port, std::chrono::milliseconds timeout) {
    const std::string err = child.stderr_text();
    if (err.find("in use") != std::string::npos ||
        err.find("Address already in use") != std::string::npos) {
        throw RecordError("port " + port_text(port) + " is in use", 2);
    }
    std::string reason = child.last_error_line();
    if (reason.empty()) {
        reason = child.running() ? "not listening after " + std::to_string(timeout.count()) + " ms"
                                 : "exited with status " + std::to_string(*child.exit_status());
    }
    throw RecordError(what + " did not start: " + reason);
}

} // namespace

void Peer::start_mbedtls(const PeerRequest& r) {
    process::LaunchOptions options;
    options.argv = r.runner;
    options.argv.insert(options.argv.end(),
                        {r.recorder.string(), "--mode", side_name(Side::Server), "--listen",
                         port_text(r.port), "--timeout-ms", std::to_string(r.timeout.count()),
                         "--seed", std::to_string(r.seed), "--fixed-time", r.fixed_time,
                         "--accept-count", std::to_string(r.runs)});
    if (r.fork_runs) {
        options.argv.push_back("--fork-runs");
    }
    // The same lifecycle as the client: an interleaved client is served in lock step.
    const auto lifecycle = lifecycle_arguments(r.lifecycle);
    options.argv.insert(options.argv.end(), lifecycle.begin(), lifecycle.end());
    const auto args = recorder_arguments(r.scenario, Side::Server, r.der);
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    child_ = std::make_unique<process::ChildProcess>(options);
    const auto line = child_->wait_for_line(
        [](const std::string& l) { return l.rfind(recorder_protocol::kListening, 0) == 0; },
        r.timeout);
    if (!line) {
        not_ready(*child_, "the mbedTLS peer", r.port, r.timeout);
    }
    port_ = static_cast<unsigned>(std::stoul(line->substr(recorder_protocol::kListening.size())));
    description_ = "mbedTLS peer (deterministic, seed " + std::to_string(r.seed) + ")";
}

void Peer::start_openssl(const PeerRequest& r) {
    const Scenario& s = r.scenario;
    const unsigned accepts = r.runs * r.lifecycle.connections * r.lifecycle.reconnects;
    // s_server -WWW serves files from its working directory: "GET /N" gets
    // the file named N, holding N bytes.
    fs::create_directories(r.work_dir);
    {
        std::ofstream body(r.work_dir / std::to_string(s.response_bytes), std::ios::binary);
        for (unsigned long long i = 0; i < s.response_bytes; ++i) {
            body.put(static_cast<char>('a' + i % 26));
        }
    }
    std::vector<std::string> argv = {
        "openssl", "s_server", "-accept", port_text(r.port), "-naccept", std::to_string(accepts),
        "-WWW"};
    argv.push_back(s.protocol == "tls1.3" ? "-tls1_3" : "-tls1_2");
    if (r.lifecycle.resume == lifecycle::Resume::SessionId) {
        // s_server keeps a session cache and issues tickets by default: with
        // tickets off, only the cache can resume.
        argv.push_back("-no_ticket");
    }
    if (!s.openssl_ciphers.empty()) {
        argv.insert(argv.end(), {"-cipher", s.openssl_ciphers});
    }
    if (!s.openssl_ciphersuites.empty()) {
        argv.insert(argv.end(), {"-ciphersuites", s.openssl_ciphersuites});
    }
    if (!s.groups.empty()) {
        std::string groups;
        for (const std::string& g : s.groups) {
            // OpenSSL's names for the IANA groups tlsheap uses.
            const std::string name = g == "secp256r1"   ? "P-256"
                                     : g == "secp384r1" ? "P-384"
                                     : g == "secp521r1" ? "P-521"
                                     : g == "x25519"    ? "X25519"
                                     : g == "x448"      ? "X448"
                                                        : g;
            groups += (groups.empty() ? "" : ":") + name;
        }
        argv.insert(argv.end(), {"-groups", groups});
    }
    if (s.auth_mode == "psk") {
        argv.insert(argv.end(), {"-psk", s.psk_hex, "-psk_identity", s.psk_identity, "-nocert"});
    } else {
        argv.insert(argv.end(),
                    {"-cert", s.server_chain.front().string(), "-key", s.server_key.string()});
        if (s.server_chain.size() > 1) {
            // The certificates sent after the leaf, in one file.
            const fs::path chain = r.work_dir / "cert_chain.pem";
            std::ofstream out(chain);
            for (std::size_t i = 1; i < s.server_chain.size(); ++i) {
                std::ifstream in(s.server_chain[i]);
                out << in.rdbuf();
            }
            argv.insert(argv.end(), {"-cert_chain", chain.string()});
        }
        if (s.auth_mode == "mutual") {
            // -verifyCAfile, not -CAfile: the latter also adds the root to what the server sends.
            argv.insert(argv.end(),
                        {"-Verify", "2", "-verifyCAfile", s.client_ca.front().string()});
        }
    }
    process::LaunchOptions options;
    options.argv = argv;
    options.working_directory = r.work_dir.string();
    try {
        child_ = std::make_unique<process::ChildProcess>(options);
    } catch (const process::ProcessError& e) {
        throw RecordError(std::string(e.what()) + " (install Debian's openssl package)");
    }
    const auto line = child_->wait_for_line(
        [](const std::string& l) { return l.rfind("ACCEPT", 0) == 0; }, r.timeout);
    if (!line) {
        not_ready(*child_, "openssl s_server", r.port, r.timeout);
    }
    static const std::regex accept_line(R"(ACCEPT .*:(\d+)\s*$)");
    std::smatch m;
    if (!std::regex_search(*line, m, accept_line)) {
        throw RecordError("cannot read the port from openssl s_server's line '" + *line + "'");
    }
    port_ = static_cast<unsigned>(std::stoul(m[1]));
    description_ = openssl_version() + " s_server";
}

} // namespace tlsheap::record
