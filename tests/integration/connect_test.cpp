// `profile --connect` against servers tlsheap does not control: mbedTLS's
// ssl_server2 (built from the fetched tree against an exported default
// variant) and `openssl s_server -rev`, on 127.0.0.1. ssl_server2 answers
// any request with a fixed page and closes: a completed handshake with a
// note, not a failure. The options that change the scenario (protocol,
// suites, groups, PSK, client certificate) must reach the handshake, and the
// exchange options must say where the answer ended.
#include "mbedtls_programs.h"
#include "process/child_process.h"
#include "tlsheap_harness.h"

#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <regex>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path data_files() {
    return mbedtls_tree() / "framework" / "data_files";
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What ssl_server2 sends, from its source: HTTP_RESPONSE's string literals
// joined, escapes decoded, and the negotiated suite in place of "%s".
std::size_t ssl_server2_page_bytes(const std::string& ciphersuite) {
    const std::string source = read_file(mbedtls_tree() / "programs" / "ssl" / "ssl_server2.c");
    const auto start = source.find("#define HTTP_RESPONSE");
    EXPECT_NE(start, std::string::npos);
    std::string page;
    static const std::regex literal(R"re("((?:[^"\\]|\\.)*)")re");
    for (std::size_t at = start;;) {
        const std::size_t end = source.find('\n', at);
        std::string line = source.substr(at, end - at);
        for (auto it = std::sregex_iterator(line.begin(), line.end(), literal);
             it != std::sregex_iterator(); ++it) {
            page += (*it)[1].str();
        }
        line.erase(line.find_last_not_of(" \t") + 1);
        if (line.empty() || line.back() != '\\' || end == std::string::npos) {
            break; // the macro's last line
        }
        at = end + 1;
    }
    page = std::regex_replace(page, std::regex(R"(\\r)"), "\r");
    page = std::regex_replace(page, std::regex(R"(\\n)"), "\n");
    page = std::regex_replace(page, std::regex("%s"), ciphersuite);
    return page.size();
}

const json* outcome(const json& j, const std::string& kind) {
    for (const json& o : j["outcomes"]) {
        if (o["kind"] == kind) {
            return &o;
        }
    }
    return nullptr;
}

// "TLSv1.2 TLS-PSK-WITH-AES-128-GCM-SHA256" -> the suite.
std::string negotiated_suite(const json& j) {
    const json* h = outcome(j, "handshake");
    if (h == nullptr) {
        ADD_FAILURE() << "no handshake outcome";
        return {};
    }
    const std::string text = (*h)["text"];
    return text.substr(text.find(' ') + 1);
}

class ConnectToServer : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new fs::path(scratch_dir("connect"));
        export_variant(*dir_, "plain", {});
        if (::testing::Test::HasFatalFailure()) {
            return;
        }
        build_ssl_test_program(*dir_, "plain", "ssl_server2");
        ready_ = !::testing::Test::HasFatalFailure();
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }
    void SetUp() override { ASSERT_TRUE(ready_) << "the export or ssl_server2 did not build"; }
    void TearDown() override {
        if (server_) {
            server_->stop(std::chrono::milliseconds(2000));
        }
        expect_nothing_left_running();
    }

    // ssl_server2 on a free port with these options, until it listens.
    void start_ssl_server2(const std::vector<std::string>& options) {
        port_ = free_port();
        process::LaunchOptions launch;
        launch.argv = {(*dir_ / "ssl_server2").string(), "server_port=" + std::to_string(port_)};
        launch.argv.insert(launch.argv.end(), options.begin(), options.end());
        server_ = std::make_unique<process::ChildProcess>(launch);
        ASSERT_TRUE(wait_until_listening(*server_)) << server_->stdout_text();
    }

    // `openssl s_server -rev` (each line echoed reversed, the connection kept
    // open) with the default scenario's server certificate.
    void start_openssl_rev() {
        const fs::path pki = fs::path(TLSHEAP_SOURCE_DIR) / "scenarios" / "pki" / "ecdsa-p256";
        process::LaunchOptions launch;
        launch.argv = {"openssl", "s_server",
                       "-accept", "127.0.0.1:0",
                       "-rev",    "-tls1_2",
                       "-cert",   (pki / "server.crt.pem").string(),
                       "-key",    (pki / "server.key.pem").string()};
        server_ = std::make_unique<process::ChildProcess>(launch);
        const auto line =
            server_->wait_for_line([](const std::string& l) { return l.rfind("ACCEPT", 0) == 0; },
                                   std::chrono::seconds(30));
        ASSERT_TRUE(line.has_value()) << server_->stderr_text();
        port_ = static_cast<unsigned>(std::stoul(line->substr(line->rfind(':') + 1)));
    }

    // `tlsheap profile --connect` to the server, its JSON document.
    json profile(const std::string& name, std::vector<std::string> options,
                 int expected_status = 0) {
        const fs::path out = *dir_ / (name + ".json");
        std::vector<std::string> args = {"profile",
                                         "--abi",
                                         "host",
                                         "--connect",
                                         "127.0.0.1:" + std::to_string(port_),
                                         "--trace",
                                         (*dir_ / (name + ".trace")).string(),
                                         "--json",
                                         out.string()};
        args.insert(args.end(), options.begin(), options.end());
        last_ = run_tlsheap(args);
        EXPECT_EQ(last_.status, expected_status) << last_.err;
        return fs::exists(out) ? read_json(out) : json();
    }

    static fs::path* dir_;
    static bool ready_;
    std::unique_ptr<process::ChildProcess> server_;
    unsigned port_ = 0;
    RunResult last_;
};

fs::path* ConnectToServer::dir_ = nullptr;
bool ConnectToServer::ready_ = false;

// The default scenario expects a header block and 4096 bytes; ssl_server2
// sends its page and closes. The handshake completed: exit 0, and the
// application outcome says how many bytes came before the close.
TEST_F(ConnectToServer, SslServer2sFixedPageIsACompletedExchangeWithANote) {
    start_ssl_server2({});
    const json j = profile(
        "page", {"--ca", (data_files() / "test-ca2.crt").string(), "--server-name", "localhost"});
    ASSERT_FALSE(j.is_null());
    EXPECT_EQ(outcome(j, "failure"), nullptr) << j["outcomes"];
    const json* application = outcome(j, "application");
    ASSERT_NE(application, nullptr) << j["outcomes"];
    const std::size_t page = ssl_server2_page_bytes(negotiated_suite(j));
    // The request: "GET /4096 HTTP/1.0\r\nHost: localhost\r\n\r\n".
    const std::string request = "GET /4096 HTTP/1.0\r\nHost: localhost\r\n\r\n";
    EXPECT_EQ((*application)["text"],
              "sent " + std::to_string(request.size()) + " received " + std::to_string(page) +
                  ", the server closed after " + std::to_string(page) +
                  " bytes, before a header block and 4096 bytes (the scenario's answer)");
    EXPECT_NE(last_.out.find("application data: sent"), std::string::npos) << last_.out;
    EXPECT_EQ(j["leaks"]["bytes"], 0);
}

// PSK, protocol and suite from the command line: the handshake is the one
// asked for; the request and --read-until close are what went over the
// wire; and the key itself is in neither the trace nor the report.
TEST_F(ConnectToServer, PskProtocolAndSuiteReachTheHandshakeAndTheKeyIsWrittenNowhere) {
    const std::string key = "5ea1ed0fca11ab1e5ea1ed0fca11ab1e";
    start_ssl_server2({"psk=" + key, "psk_identity=device-7"});
    const json j =
        profile("psk", {"--protocol", "tls1.2", "--ciphersuite", "TLS-PSK-WITH-AES-128-GCM-SHA256",
                        "--psk", key, "--psk-identity", "device-7", "--request",
                        "GET / HTTP/1.0\\r\\n\\r\\n", "--read-until", "close"});
    ASSERT_FALSE(j.is_null());
    const json* handshake = outcome(j, "handshake");
    ASSERT_NE(handshake, nullptr);
    EXPECT_EQ((*handshake)["text"], "TLSv1.2 TLS-PSK-WITH-AES-128-GCM-SHA256");
    const json* application = outcome(j, "application");
    ASSERT_NE(application, nullptr);
    EXPECT_EQ((*application)["text"],
              "sent 18 received " +
                  std::to_string(ssl_server2_page_bytes("TLS-PSK-WITH-AES-128-GCM-SHA256")) +
                  ", until the server closed");
    const std::string trace = read_file(*dir_ / "psk.trace");
    EXPECT_NE(trace.find("--psk (hidden) --psk-identity device-7"), std::string::npos);
    std::string key_bytes;
    for (std::size_t i = 0; i < key.size(); i += 2) {
        key_bytes.push_back(static_cast<char>(std::stoi(key.substr(i, 2), nullptr, 16)));
    }
    for (const std::string& text : {trace, read_file(*dir_ / "psk.json"), last_.out, last_.err}) {
        EXPECT_EQ(text.find(key), std::string::npos);
        EXPECT_EQ(text.find(key_bytes), std::string::npos);
    }
}

// TLS 1.3 over X25519 with a client certificate the server requires: the
// client's certificate and its signature are steps of the recorded
// handshake. Without the certificate the server refuses the client: one
// line.
TEST_F(ConnectToServer, ClientCertificateOverTls13IsSentAndSigned) {
    start_ssl_server2(
        {"auth_mode=required", "ca_file=" + (data_files() / "test-ca_cat12.crt").string()});
    const std::vector<std::string> server = {"--ca", (data_files() / "test-ca2.crt").string(),
                                             "--server-name", "localhost"};
    std::vector<std::string> options = server;
    options.insert(options.end(), {"--protocol", "tls1.3", "--group", "x25519", "--client-cert",
                                   (data_files() / "cli2.crt").string(), "--client-key",
                                   (data_files() / "cli2.key").string()});
    const json j = profile("mutual", options);
    ASSERT_FALSE(j.is_null());
    EXPECT_EQ(negotiated_suite(j).rfind("TLS1-3-", 0), 0u) << negotiated_suite(j);
    std::map<std::string, json> states;
    for (const json& s : j["states"]) {
        states[s["state"].get<std::string>()] = s;
    }
    ASSERT_TRUE(states.count("CLIENT_CERTIFICATE")) << j["states"];
    ASSERT_TRUE(states.count("CLIENT_CERTIFICATE_VERIFY")) << j["states"];
    // Signing with the client's ECDSA key allocates.
    EXPECT_GT(states["CLIENT_CERTIFICATE_VERIFY"]["allocations"].get<std::uint64_t>(), 0u);

    // TLS 1.3: the client's handshake is over before the server sees no
    // certificate; its alert (or the reset) meets the application data.
    std::vector<std::string> without = server;
    without.insert(without.end(), {"--protocol", "tls1.3"});
    profile("refused", without, 1);
    const std::vector<std::string> errors = last_.error_lines();
    ASSERT_EQ(errors.size(), 1u) << last_.err;
    EXPECT_NE(errors.front().find("application data failed in state HANDSHAKE_OVER"),
              std::string::npos)
        << errors.front();
}

// openssl s_server -rev answers each line and keeps the connection open:
// reading until the server goes quiet ends after the echo; reading a number
// of bytes ends once that many came, with no note.
TEST_F(ConnectToServer, QuietAndByteCountEndAnAnswerThatNeverCloses) {
    start_openssl_rev();
    const std::string line = "hello tlsheap\n";
    const json quiet =
        profile("quiet", {"--request", "hello tlsheap\\n", "--read-until", "quiet:300"});
    const json* application = outcome(quiet, "application");
    ASSERT_NE(application, nullptr) << quiet["outcomes"];
    EXPECT_EQ((*application)["text"], "sent " + std::to_string(line.size()) + " received " +
                                          std::to_string(line.size()) +
                                          ", until nothing came for 300 ms");

    const json bytes =
        profile("bytes", {"--request", "hello tlsheap\\n", "--read-until", "bytes:14"});
    application = outcome(bytes, "application");
    ASSERT_NE(application, nullptr) << bytes["outcomes"];
    EXPECT_EQ((*application)["text"], "sent 14 received 14");
}

} // namespace
} // namespace tlsheap::testing
