// Session resumption end to end (issue 10): connections after the first
// resume the first one's session against the deterministic mbedTLS peer and
// openssl s_server, the trace says which did, and the profile's
// `resumption` object compares their handshakes with the full one.
#include "process/child_process.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/trace_walker.h"
#include "tlsheap_harness.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <optional>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Profile {
    json report;
    fs::path trace;
};

Profile profile(const std::string& name, std::vector<std::string> args) {
    const fs::path dir = scratch_dir(name);
    args.insert(args.begin(), {"profile", "-q", "--json", (dir / "p.json").string(), "--trace",
                               (dir / "p.trace").string()});
    const RunResult r = run_tlsheap(args);
    EXPECT_EQ(r.status, 0) << r.err;
    Profile p;
    p.trace = dir / "p.trace";
    if (fs::exists(dir / "p.json")) {
        p.report = read_json(dir / "p.json");
    }
    return p;
}

// Per connection: how its handshake went (from the walker) and its live
// bytes when its code stopped running for the last time.
struct Walked {
    std::map<std::uint32_t, trace::HandshakeKind> kind;
    std::map<std::uint32_t, std::optional<trace::EarlyDataStatus>> early_data;
    std::map<std::uint32_t, std::uint64_t> live_when_left;
    // Per connection: TLS records it sent in APPLICATION, and whether it
    // called mbedtls_ssl_write_early_data.
    std::map<std::uint32_t, unsigned> application_records_out;
    std::map<std::uint32_t, bool> wrote_early_data;
    std::uint64_t live_at_end = 0;
    std::string resume_meta;
    std::string early_data_meta;
};

Walked walk(const fs::path& file) {
    struct Hooks : trace::WalkerHooks {
        explicit Hooks(const trace::TraceWalker& w) : walker(w) {}
        void on_connection(const trace::Record&, std::uint32_t previous) override {
            out.live_when_left[previous] = walker.live_bytes_of(previous);
        }
        void on_context(const trace::Record& r) override {
            if (r.tag == trace::Tag::TlsRecord && r.direction == trace::Direction::Out &&
                walker.phase() == trace::Phase::Application) {
                ++out.application_records_out[walker.connection()];
            } else if (r.tag == trace::Tag::Activity && r.begin &&
                       r.key == "ssl_write_early_data") {
                out.wrote_early_data[walker.connection()] = true;
            }
        }
        const trace::TraceWalker& walker;
        Walked out;
    };
    trace::TraceReader reader(file.string());
    trace::TraceWalker walker;
    Hooks hooks(walker);
    walker.walk(reader, hooks);
    EXPECT_TRUE(reader.complete());
    for (std::uint32_t c = trace::kFirstConnection; c < walker.connection_count(); ++c) {
        hooks.out.kind[c] = walker.handshake_kind_of(c);
        hooks.out.early_data[c] = walker.early_data_of(c);
    }
    hooks.out.live_at_end = walker.live_bytes();
    hooks.out.resume_meta = walker.info().meta(trace::meta::kLifecycleResume);
    hooks.out.early_data_meta = walker.info().meta(trace::meta::kLifecycleEarlyData);
    return hooks.out;
}

const json& handshake(const json& report, unsigned connection) {
    for (const json& h : report["resumption"]["handshakes"]) {
        if (h["connection"] == connection) {
            return h;
        }
    }
    static const json none;
    ADD_FAILURE() << "no handshake figures for connection " << connection;
    return none;
}

// What a TLS 1.3 resumption does not save. PSK resumption with (EC)DHE
// still runs ECDHE, and the session mbedtls_ssl_set_session copies into the
// connection in SETUP (its ticket, and with MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
// the server's certificate parsed again) stays alive through the handshake:
// measured with 3.6.6 ilp32, tls13-ecdsa-p256, the resumed connection's own
// peak is 56,121 bytes against the full one's 55,500. The first full
// handshake also leaves PSA's first slice of key slots (704 bytes), which PSA
// keeps until psa_crypto_free in the shared TEARDOWN.
enum class Protocol { Tls12, Tls13 };

// Three connections one after the other, the second and third resuming the
// first one's session: checks the trace, the figures and the leaks.
void expect_resumed_twice(const Profile& p, const std::string& mode,
                          Protocol protocol = Protocol::Tls12) {
    ASSERT_TRUE(p.report.contains("resumption")) << "no resumption object";
    const json& res = p.report["resumption"];
    EXPECT_EQ(res["mode"], mode);
    EXPECT_EQ(res["first_full"], 1);
    EXPECT_EQ(res["first_resumed"], 2);
    const Walked w = walk(p.trace);
    EXPECT_EQ(w.resume_meta, mode);
    ASSERT_EQ(w.kind.size(), 3u);
    EXPECT_EQ(w.kind.at(1), trace::HandshakeKind::Full);
    const json& full = handshake(p.report, 1);
    // The full handshake parsed the server's chain; the resumed ones did not.
    EXPECT_GT(full["chain_parse_bytes"].get<std::uint64_t>(), 0u);
    for (unsigned c : {2u, 3u}) {
        EXPECT_EQ(w.kind.at(c), trace::HandshakeKind::Resumed) << "connection " << c;
        const json& h = handshake(p.report, c);
        EXPECT_EQ(h["kind"], "resumed");
        EXPECT_TRUE(h["complete"].get<bool>());
        EXPECT_EQ(h["chain_parse_bytes"], 0) << "connection " << c;
        if (protocol == Protocol::Tls12) {
            EXPECT_LT(h["peak_connection"].get<std::uint64_t>(),
                      full["peak_connection"].get<std::uint64_t>())
                << "connection " << c;
        }
        EXPECT_LT(h["steps"].get<std::uint64_t>(), full["steps"].get<std::uint64_t>());
        EXPECT_LT(h["bytes_allocated"].get<std::uint64_t>(),
                  full["bytes_allocated"].get<std::uint64_t>())
            << "connection " << c;
        EXPECT_LT(h["records_received"].get<std::uint64_t>(),
                  full["records_received"].get<std::uint64_t>())
            << "connection " << c;
        // Every connection is freed before the next: no leak per cycle.
        ASSERT_TRUE(w.live_when_left.count(c)) << "connection " << c;
        EXPECT_EQ(w.live_when_left.at(c), 0u) << "connection " << c << " left bytes alive";
    }
    if (protocol == Protocol::Tls12) {
        EXPECT_EQ(w.live_when_left.at(1), 0u);
    }
    EXPECT_EQ(w.live_at_end, 0u);
    bool x509_absent = false;
    for (const json& s : res["not_in_resumed"]) {
        x509_absent =
            x509_absent || s["call_site"].get<std::string>().find("x509") != std::string::npos;
    }
    EXPECT_TRUE(x509_absent) << res["not_in_resumed"].dump();
}

class Resumption : public ::testing::Test {
  protected:
    void TearDown() override { expect_nothing_left_running(); }
};

TEST_F(Resumption, Tls12SessionIdAgainstTheMbedtlsPeer) {
    const Profile p = profile("resume-tls12-id", {"--scenario", "tls12-ecdhe-ecdsa-p256",
                                                  "--reconnects", "3", "--resume", "session-id"});
    expect_resumed_twice(p, "session-id");
}

TEST_F(Resumption, Tls12TicketAgainstTheMbedtlsPeer) {
    const Profile p = profile("resume-tls12-ticket", {"--scenario", "tls12-ecdhe-ecdsa-p256",
                                                      "--reconnects", "3", "--resume", "ticket"});
    expect_resumed_twice(p, "ticket");
}

TEST_F(Resumption, Tls13TicketAgainstTheMbedtlsPeer) {
    const Profile p = profile("resume-tls13-ticket", {"--scenario", "tls13-ecdsa-p256",
                                                      "--reconnects", "3", "--resume", "ticket"});
    expect_resumed_twice(p, "ticket", Protocol::Tls13);
}

// TLS 1.3 0-RTT: the second and third connections send their request as
// early data, the mbedTLS peer (built with MBEDTLS_SSL_EARLY_DATA) reads it,
// and the client does not send it again after the handshake.
TEST_F(Resumption, Tls13EarlyDataAgainstTheMbedtlsPeer) {
    const std::vector<std::string> args = {
        "--scenario", "tls13-ecdsa-p256", "--reconnects", "3",
        "--resume",   "ticket",           "--set",        "MBEDTLS_SSL_EARLY_DATA"};
    std::vector<std::string> early = args;
    early.push_back("--early-data");
    const Profile p = profile("resume-tls13-early-data", early);
    expect_resumed_twice(p, "ticket", Protocol::Tls13);
    const Walked w = walk(p.trace);
    EXPECT_EQ(w.early_data_meta, trace::meta::kEarlyDataRequest);
    // The first connection has nothing to resume, so no 0-RTT keys.
    EXPECT_FALSE(w.early_data.at(1).has_value());
    EXPECT_FALSE(w.wrote_early_data.count(1));
    EXPECT_TRUE(handshake(p.report, 1)["early_data"].is_null());
    EXPECT_GT(w.application_records_out.at(1), 0u);
    for (unsigned c : {2u, 3u}) {
        EXPECT_EQ(w.early_data.at(c), trace::EarlyDataStatus::Accepted) << "connection " << c;
        EXPECT_TRUE(w.wrote_early_data.count(c)) << "connection " << c;
        EXPECT_EQ(handshake(p.report, c)["early_data"], "accepted");
        // The request went out before the handshake ended: in APPLICATION
        // the client only reads the answer (and sends close_notify in CLOSE).
        EXPECT_FALSE(w.application_records_out.count(c)) << "connection " << c;
    }

    // The same variant without --early-data: a resumed handshake that sends
    // 0-RTT data derives the early traffic keys and transform as well, so
    // it allocates more.
    const Profile plain = profile("resume-tls13-no-early-data", args);
    const Walked pw = walk(plain.trace);
    EXPECT_TRUE(pw.early_data_meta.empty());
    EXPECT_FALSE(pw.early_data.at(2).has_value());
    EXPECT_GT(pw.application_records_out.at(2), 0u);
    EXPECT_GT(handshake(p.report, 2)["bytes_allocated"].get<std::uint64_t>(),
              handshake(plain.report, 2)["bytes_allocated"].get<std::uint64_t>());
    EXPECT_GT(handshake(p.report, 2)["allocations"].get<std::uint64_t>(),
              handshake(plain.report, 2)["allocations"].get<std::uint64_t>());
    // The full handshakes are the same ones.
    EXPECT_EQ(handshake(p.report, 1)["bytes_allocated"],
              handshake(plain.report, 1)["bytes_allocated"]);

    // The server side, against the mbedTLS peer as the client: it reads the
    // request during the handshake and says so.
    early.insert(early.end(), {"--side", "server"});
    const Profile server = profile("resume-tls13-early-data-server", early);
    const Walked sw = walk(server.trace);
    EXPECT_FALSE(sw.early_data.at(1).has_value());
    for (unsigned c : {2u, 3u}) {
        EXPECT_EQ(sw.kind.at(c), trace::HandshakeKind::Resumed) << "connection " << c;
        EXPECT_EQ(sw.early_data.at(c), trace::EarlyDataStatus::Accepted) << "connection " << c;
        EXPECT_EQ(handshake(server.report, c)["early_data"], "accepted");
    }
}

TEST_F(Resumption, Tls12SessionIdAgainstOpenssl) {
    const Profile p =
        profile("resume-tls12-openssl", {"--scenario", "tls12-ecdhe-ecdsa-p256", "--peer",
                                         "openssl", "--reconnects", "3", "--resume", "session-id"});
    expect_resumed_twice(p, "session-id");
}

TEST_F(Resumption, Tls13TicketAgainstOpenssl) {
    const Profile p =
        profile("resume-tls13-openssl", {"--scenario", "tls13-ecdsa-p256", "--peer", "openssl",
                                         "--reconnects", "3", "--resume", "ticket"});
    expect_resumed_twice(p, "ticket", Protocol::Tls13);
}

// gnutls-serv and nginx as tlsheap sets them up: a session cache with
// tickets off (gnutls-serv --noticket, nginx ssl_session_tickets off), and
// their default tickets, TLS 1.3's included.
TEST_F(Resumption, GnutlsAndNginxResumeBySessionIdAndByTicket) {
    for (const std::string peer : {"gnutls", "nginx"}) {
        SCOPED_TRACE(peer);
        expect_resumed_twice(
            profile("resume-id-" + peer, {"--scenario", "tls12-ecdhe-ecdsa-p256", "--peer", peer,
                                          "--reconnects", "3", "--resume", "session-id"}),
            "session-id");
        expect_resumed_twice(
            profile("resume-tls13-" + peer, {"--scenario", "tls13-ecdsa-p256", "--peer", peer,
                                             "--reconnects", "3", "--resume", "ticket"}),
            "ticket", Protocol::Tls13);
    }
}

// mbedTLS 2.28 (its own client and peer): both TLS 1.2 ways resume.
TEST_F(Resumption, Mbedtls228ResumesBySessionIdAndByTicket) {
    for (const char* mode : {"session-id", "ticket"}) {
        const Profile p = profile(std::string("resume-228-") + mode,
                                  {"--mbedtls", "2.28", "--scenario", "tls12-ecdhe-ecdsa-p256",
                                   "--reconnects", "3", "--resume", mode});
        EXPECT_EQ(p.report["variant"]["mbedtls_version"], "2.28.3");
        expect_resumed_twice(p, mode);
    }
}

TEST_F(Resumption, Tls12PskResumesBySessionId) {
    const Profile p = profile("resume-psk", {"--scenario", "tls12-psk-aes128-ccm", "--reconnects",
                                             "2", "--resume", "session-id"});
    const Walked w = walk(p.trace);
    ASSERT_EQ(w.kind.size(), 2u);
    EXPECT_EQ(w.kind.at(2), trace::HandshakeKind::Resumed);
    EXPECT_LT(handshake(p.report, 2)["bytes_allocated"].get<std::uint64_t>(),
              handshake(p.report, 1)["bytes_allocated"].get<std::uint64_t>());
}

// The user's own server (--connect), started here: openssl s_server with
// the ECDSA test PKI, three connections, with or without a session cache.
// Without one it answers every offered session with a full handshake, and
// the trace says NotResumed; with one it resumes.
TEST_F(Resumption, UsersServerThatKeepsNoSessionGivesNotResumed) {
    const fs::path dir = scratch_dir("resume-connect");
    {
        std::ofstream body(dir / "4096", std::ios::binary);
        body << std::string(4096, 'x');
    }
    const fs::path pki = fs::path(TLSHEAP_SOURCE_DIR) / "scenarios" / "pki" / "ecdsa-p256";
    auto record_against = [&](const std::string& name, bool cache) {
        process::LaunchOptions server;
        server.argv = {"openssl",  "s_server",
                       "-accept",  "127.0.0.1:0",
                       "-naccept", "3",
                       "-WWW",     "-no_ticket",
                       "-cert",    (pki / "server.crt.pem").string(),
                       "-key",     (pki / "server.key.pem").string()};
        if (!cache) {
            server.argv.push_back("-no_cache");
        }
        server.working_directory = dir.string();
        process::ChildProcess s(server);
        const auto accept =
            s.wait_for_line([](const std::string& l) { return l.rfind("ACCEPT", 0) == 0; },
                            std::chrono::seconds(10));
        EXPECT_TRUE(accept) << s.stderr_text();
        const std::string port = accept ? accept->substr(accept->rfind(':') + 1) : "1";
        Profile p =
            profile(name, {"--connect", "127.0.0.1:" + port, "--ca",
                           (pki / "root.crt.pem").string(), "--server-name", "server.tlsheap.test",
                           "--reconnects", "3", "--resume", "session-id"});
        s.stop();
        return p;
    };
    const Profile refused = record_against("resume-connect-no-cache", false);
    const Walked w = walk(refused.trace);
    ASSERT_EQ(w.kind.size(), 3u);
    EXPECT_EQ(w.kind.at(1), trace::HandshakeKind::Full);
    for (unsigned c : {2u, 3u}) {
        EXPECT_EQ(w.kind.at(c), trace::HandshakeKind::NotResumed) << "connection " << c;
        EXPECT_EQ(handshake(refused.report, c)["kind"], "not_resumed");
        // A full handshake again: the server's chain is parsed again.
        EXPECT_GT(handshake(refused.report, c)["chain_parse_bytes"].get<std::uint64_t>(), 0u);
    }
    EXPECT_TRUE(refused.report["resumption"]["first_resumed"].is_null());

    const Profile resumed = record_against("resume-connect-cache", true);
    const Walked rw = walk(resumed.trace);
    ASSERT_EQ(rw.kind.size(), 3u);
    for (unsigned c : {2u, 3u}) {
        EXPECT_EQ(rw.kind.at(c), trace::HandshakeKind::Resumed) << "connection " << c;
    }
}

std::string stable_export(const fs::path& trace) {
    const fs::path out = trace.parent_path() / "stable.json";
    const RunResult r =
        run_tlsheap({"trace", "export", trace.string(), "--json", out.string(), "--stable"});
    EXPECT_EQ(r.status, 0) << r.err;
    std::ifstream in(out);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST_F(Resumption, TwoRunsGiveIdenticalEventStreams) {
    const std::vector<std::string> ticket = {"--reconnects", "2", "--resume", "ticket"};
    const std::map<std::string, std::vector<std::string>> runs = {
        {"tls12", {"--scenario", "tls12-ecdhe-ecdsa-p256"}},
        {"tls13", {"--scenario", "tls13-ecdsa-p256"}},
        {"tls13-early-data",
         {"--scenario", "tls13-ecdsa-p256", "--early-data", "--set", "MBEDTLS_SSL_EARLY_DATA"}}};
    for (const auto& [name, scenario] : runs) {
        std::vector<std::string> args = scenario;
        args.insert(args.end(), ticket.begin(), ticket.end());
        const std::string a = stable_export(profile("resume-det-a-" + name, args).trace);
        const std::string b = stable_export(profile("resume-det-b-" + name, args).trace);
        EXPECT_GT(a.size(), 100000u);
        EXPECT_TRUE(a == b) << name << ": stable exports of two runs differ";
    }
}

void expect_refused(const std::vector<std::string>& args, const std::string& says) {
    std::vector<std::string> full = {"profile", "-q"};
    full.insert(full.end(), args.begin(), args.end());
    const RunResult r = run_tlsheap(full);
    EXPECT_EQ(r.status, 2) << r.err;
    const auto lines = r.error_lines();
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_NE(lines.front().find(says), std::string::npos) << lines.front();
}

TEST_F(Resumption, BadInputIsRefusedInOneLine) {
    expect_refused({"--resume", "ticket"}, "second connection");
    expect_refused({"--resume", "session-id", "--reconnects", "1", "--connections", "1"},
                   "second connection");
    expect_refused(
        {"--scenario", "tls13-ecdsa-p256", "--reconnects", "2", "--resume", "session-id"},
        "TLS 1.3 has no session-ID");
    expect_refused({"--reconnects", "2", "--resume", "sometimes"}, "--resume");
    // A peer the scenario does not list; early data on a peer not set up for it.
    expect_refused({"--scenario", "tls13-ecdsa-p256", "--peer", "mosquitto", "--reconnects", "2",
                    "--resume", "ticket"},
                   "does not run against peer 'mosquitto'");
    expect_refused({"--scenario", "tls13-ecdsa-p256", "--peer", "gnutls", "--reconnects", "2",
                    "--resume", "ticket", "--early-data"},
                   "--early-data needs the mbedtls peer (tlsheap does not set up 0-RTT data on "
                   "gnutls)");
    // Early data rides on a resumed TLS 1.3 ticket, from a variant that has it.
    expect_refused({"--scenario", "tls13-ecdsa-p256", "--reconnects", "2", "--early-data"},
                   "--early-data needs a TLS 1.3 scenario and --resume ticket");
    expect_refused({"--scenario", "tls12-ecdhe-ecdsa-p256", "--reconnects", "2", "--resume",
                    "ticket", "--early-data"},
                   "--early-data needs a TLS 1.3 scenario");
    expect_refused({"--scenario", "tls13-ecdsa-p256", "--peer", "openssl", "--reconnects", "2",
                    "--resume", "ticket", "--early-data"},
                   "--early-data needs the mbedtls peer");
    expect_refused({"--scenario", "tls13-ecdsa-p256", "--reconnects", "2", "--resume", "ticket",
                    "--early-data"},
                   "lacks MBEDTLS_SSL_EARLY_DATA, which --early-data needs");
}

} // namespace
} // namespace tlsheap::testing
