#include "orchestration/peer.h"

#include "orchestration/coap_server.h"
#include "orchestration/gnutls_server.h"
#include "orchestration/mosquitto_config.h"
#include "orchestration/nginx_config.h"
#include "orchestration/openssl_names.h"
#include "orchestration/peer_kind.h"
#include "orchestration/record_error.h"
#include "orchestration/recorder_arguments.h"
#include "tlsheap/recorder_protocol.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <netinet/in.h>
#include <regex>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>

namespace tlsheap::record {

namespace fs = std::filesystem;

namespace {

// What `PROGRAM ARGS...` prints (standard output, or standard error when
// it prints nothing there), or "" when it exits with another status than
// `status` or cannot run.
std::string output_of(const std::vector<std::string>& argv, int status) {
    try {
        const auto r = process::run_command(argv, std::chrono::seconds(10));
        return r.status == status ? (r.out.empty() ? r.err : r.out) : std::string();
    } catch (const process::ProcessError&) {
        return {};
    }
}

// The program's first line of `PROGRAM ARGS...` (its version), or "".
std::string first_line_of(const std::vector<std::string>& argv, int status = 0) {
    const std::string text = output_of(argv, status);
    return text.substr(0, text.find('\n'));
}

} // namespace

std::string openssl_version() {
    return first_line_of({"openssl", "version"});
}

Peer::Peer(const PeerRequest& request) {
    if (request.kind == "mbedtls") {
        start_mbedtls(request);
    } else if (request.kind == "openssl") {
        start_openssl(request);
    } else if (request.kind == "gnutls") {
        start_gnutls(request);
    } else if (request.kind == "nginx") {
        start_nginx(request);
    } else if (request.kind == "mosquitto") {
        start_mosquitto(request);
    } else if (request.kind == "coap") {
        start_coap(request);
    } else {
        throw RecordError("unknown peer '" + request.kind + "' (" + peer_names_text() + ")", 2);
    }
}

Peer::~Peer() {
    if (child_ && child_->running()) {
        child_->stop(std::chrono::milliseconds(1000));
    }
}

void Peer::finish(std::chrono::milliseconds grace) {
    if (!stops_by_itself_) {
        // gnutls-serv, nginx and mosquitto serve until stopped; the recorded client is done.
        grace = std::chrono::milliseconds(0);
    }
    if (child_ && child_->running() && !child_->wait(grace)) {
        child_->stop(std::chrono::milliseconds(1000));
    }
}

std::string Peer::error_line() const {
    if (!child_) {
        return {};
    }
    std::string line = child_->last_error_line();
    if (line.rfind("Exiting via signal", 0) == 0) {
        return {}; // gnutls-serv, stopped by tlsheap: not its error
    }
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

// The scenario's response as a file: `header`, then that many bytes (a..z
// repeated), for the servers that answer with a file.
void write_response_file(const fs::path& file, unsigned long long bytes,
                         std::string_view header = {}) {
    std::ofstream body(file, std::ios::binary);
    body << header;
    for (unsigned long long i = 0; i < bytes; ++i) {
        body.put(static_cast<char>('a' + i % 26));
    }
}

// `files` one after the other in `out` (a chain in one PEM file).
void concatenate(const std::vector<fs::path>& files, const fs::path& out) {
    std::ofstream chain(out, std::ios::binary);
    for (const fs::path& f : files) {
        std::ifstream in(f, std::ios::binary);
        chain << in.rdbuf();
    }
}

bool accepts_connections(unsigned port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// The port asked for, or one nothing listens on now (for servers that
// cannot report the port they bound to 0).
unsigned listening_port(unsigned requested) {
    if (requested != 0) {
        // Checked before the server starts: one that binds every interface
        // could come up on another address and leave this port to whoever
        // holds it, and readiness is a connection to this port.
        if (accepts_connections(requested)) {
            throw RecordError("port " + port_text(requested) + " is in use", 2);
        }
        return requested;
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    if (fd >= 0) {
        ::close(fd);
    }
    if (!ok) {
        throw RecordError(std::string("cannot find a free port on 127.0.0.1: ") +
                          std::strerror(errno));
    }
    return ntohs(a.sin_port);
}

// Waits until the server is ready on 127.0.0.1:port within `timeout`: it
// accepts a TCP connection there, or (`datagram`) has a UDP socket bound
// there; false when it exits first or the time passes.
bool wait_until_ready(process::ChildProcess& child, unsigned port, bool datagram,
                      std::chrono::milliseconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < give_up) {
        if (child.wait(std::chrono::milliseconds(10))) {
            return false;
        }
        if (datagram ? udp_port_bound(port) : accepts_connections(port)) {
            return true;
        }
    }
    return false;
}

std::unique_ptr<process::ChildProcess> start_server(const process::LaunchOptions& options,
                                                    const std::string& package) {
    try {
        return std::make_unique<process::ChildProcess>(options);
    } catch (const process::ProcessError& e) {
        throw RecordError(std::string(e.what()) + " (install Debian's " + package + " package)");
    }
}

// The scenario's server credentials copied under fixed names into `dir`.
ServerCredentials copy_credentials(const Scenario& s, const fs::path& dir) {
    ServerCredentials c;
    c.chain = dir / "chain.pem";
    concatenate(s.server_chain, c.chain);
    c.key = dir / "key.pem";
    concatenate({s.server_key}, c.key);
    if (s.auth_mode == "mutual") {
        c.client_ca = dir / "client_ca.pem";
        concatenate(s.client_ca, c.client_ca);
    }
    return c;
}

// Writes a generated config; a path it cannot hold is a one-line error.
template <typename MakeConfig>
void write_config(const fs::path& file, MakeConfig make) {
    try {
        std::ofstream(file) << make();
    } catch (const ScenarioError& e) {
        throw RecordError(e.what(), 2);
    }
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
    std::vector<std::string> argv = {"openssl",         "s_server", "-accept",
                                     port_text(r.port), "-naccept", std::to_string(accepts)};
    process::LaunchOptions options;
    if (s.datagram()) {
        // s_server has no -WWW over DTLS: it sends what it reads on
        // standard input once the handshake is done (then closes, at its
        // end), so that file is the answer: a header block and the bytes.
        if (accepts != 1) {
            throw RecordError("openssl s_server answers one DTLS connection (its standard input); "
                              "run several connections or reconnects against the mbedtls peer",
                              2);
        }
        const fs::path answer = r.work_dir / "answer";
        write_response_file(answer, s.response_bytes, recorder_protocol::kHttpAnswerHeader);
        options.stdin_file = answer.string();
        argv.push_back("-dtls1_2");
        if (s.mtu != 0) {
            argv.insert(argv.end(), {"-mtu", std::to_string(s.mtu)});
        }
    } else {
        write_response_file(r.work_dir / std::to_string(s.response_bytes), s.response_bytes);
        argv.push_back("-WWW");
        argv.push_back(s.protocol == "tls1.3" ? "-tls1_3" : "-tls1_2");
    }
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
        argv.insert(argv.end(), {"-groups", openssl_group_list(s.groups)});
    }
    if (s.auth_mode == "psk") {
        argv.insert(argv.end(), {"-psk", s.psk_hex, "-psk_identity", s.psk_identity, "-nocert"});
    } else {
        argv.insert(argv.end(),
                    {"-cert", s.server_chain.front().string(), "-key", s.server_key.string()});
        if (s.server_chain.size() > 1) {
            // The certificates sent after the leaf, in one file.
            const fs::path chain = r.work_dir / "cert_chain.pem";
            concatenate({s.server_chain.begin() + 1, s.server_chain.end()}, chain);
            argv.insert(argv.end(), {"-cert_chain", chain.string()});
        }
        if (s.auth_mode == "mutual") {
            // -verifyCAfile, not -CAfile: the latter also adds the root to what the server sends.
            argv.insert(argv.end(),
                        {"-Verify", "2", "-verifyCAfile", s.client_ca.front().string()});
        }
    }
    options.argv = argv;
    options.working_directory = r.work_dir.string();
    child_ = start_server(options, "openssl");
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

void Peer::start_gnutls(const PeerRequest& r) {
    const Scenario& s = r.scenario;
    fs::create_directories(r.work_dir);
    GnutlsSite site;
    site.port = listening_port(r.port);
    site.body = r.work_dir / "response";
    write_response_file(site.body, s.response_bytes);
    if (s.auth_mode == "psk") {
        site.psk_file = r.work_dir / "psk.txt";
        std::ofstream(site.psk_file) << gnutls_psk_line(s);
    } else {
        site.credentials = copy_credentials(s, r.work_dir);
    }
    start_until_stopped(gnutls_serv_arguments(s, r.lifecycle, site), r, site.port, "gnutls-serv",
                        "gnutls-bin");
    description_ = first_line_of({"gnutls-serv", "--version"});
}

void Peer::start_until_stopped(const std::vector<std::string>& argv, const PeerRequest& r,
                               unsigned port, const std::string& name, const std::string& package,
                               bool datagram) {
    process::LaunchOptions options;
    options.argv = argv;
    options.working_directory = r.work_dir.string();
    child_ = start_server(options, package);
    if (!wait_until_ready(*child_, port, datagram, r.timeout)) {
        not_ready(*child_, name, port, r.timeout);
    }
    port_ = port;
    stops_by_itself_ = false;
}

void Peer::start_nginx(const PeerRequest& r) {
    const Scenario& s = r.scenario; // not PSK: load_scenario refuses nginx for those
    fs::create_directories(r.work_dir / "www");
    fs::create_directories(r.work_dir / "tmp");
    write_response_file(r.work_dir / "www" / std::to_string(s.response_bytes), s.response_bytes);
    NginxSite site;
    site.port = listening_port(r.port);
    site.work_dir = r.work_dir;
    site.credentials = copy_credentials(s, r.work_dir);
    const fs::path config = r.work_dir / "nginx.conf";
    write_config(config, [&] { return nginx_config(s, r.lifecycle, site); });
    // -e: the error log before the config is read (else /var/log/nginx).
    start_until_stopped({"nginx", "-c", config.string(), "-p", r.work_dir.string(), "-e", "stderr"},
                        r, site.port, "nginx", "nginx-light");
    // "nginx version: nginx/1.22.1" on stderr.
    std::string version = first_line_of({"nginx", "-v"});
    const auto slash = version.find("nginx/");
    description_ = slash == std::string::npos ? "nginx" : "nginx " + version.substr(slash + 6);
}

void Peer::start_mosquitto(const PeerRequest& r) {
    const Scenario& s = r.scenario; // an MQTT one: load_scenario checks
    fs::create_directories(r.work_dir);
    MosquittoSite site;
    site.port = listening_port(r.port);
    site.credentials = copy_credentials(s, r.work_dir);
    const fs::path config = r.work_dir / "mosquitto.conf";
    write_config(config, [&] { return mosquitto_config(s, site); });
    start_until_stopped({"mosquitto", "-c", config.string()}, r, site.port, "mosquitto",
                        "mosquitto");
    // "mosquitto version 2.0.11" is the first line of its -h, which exits 3.
    const std::string help = first_line_of({"mosquitto", "-h"}, 3);
    description_ = help.empty() ? "mosquitto" : help;
}

void Peer::start_coap(const PeerRequest& r) {
    const Scenario& s = r.scenario; // a CoAP one over DTLS: load_scenario checks
    fs::create_directories(r.work_dir);
    CoapSite site;
    site.port = coap_ports(r.port).dtls;
    site.work_dir = r.work_dir;
    if (s.auth_mode != "psk") {
        site.credentials = copy_credentials(s, r.work_dir);
    }
    std::vector<std::string> argv;
    try {
        argv = coap_server_arguments(s, site);
    } catch (const ScenarioError& e) {
        throw RecordError(e.what(), 2);
    }
    start_until_stopped(argv, r, site.port, "coap-server", "libcoap3-bin", true);
    // "coap-server-gnutls v4.3.1 -- a small CoAP implementation", the second
    // line of the usage an unknown option prints (exit status 1).
    const std::string usage = output_of({kCoapServerProgram, "-?"}, 1);
    const auto v = usage.find(" v");
    description_ = v == std::string::npos
                       ? "coap-server (libcoap, GnuTLS)"
                       : "coap-server " + usage.substr(v + 1, usage.find(' ', v + 1) - v - 1) +
                             " (libcoap, GnuTLS)";
}

} // namespace tlsheap::record
