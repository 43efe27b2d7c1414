// Bad input gets one line that names the problem and a non-zero exit; never
// a crash, a hang, or a process left behind.
#include "tlsheap_harness.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// An error whose first line names `what` (a config's compiler output may
// follow it).
void expect_error_naming(const RunResult& r, int status, const std::string& what) {
    EXPECT_EQ(r.status, status) << r.err;
    const auto lines = r.error_lines();
    ASSERT_FALSE(lines.empty()) << "no error message; stdout: " << r.out;
    EXPECT_EQ(lines.front().rfind("tlsheap: error: ", 0), 0u) << lines.front();
    EXPECT_NE(lines.front().find(what), std::string::npos) << lines.front();
}

class BadInput : public ::testing::Test {
  protected:
    void TearDown() override { expect_nothing_left_running(); }
};

TEST_F(BadInput, MissingConfigFile) {
    const RunResult r = run_tlsheap({"profile", "--config", "/nonexistent/my_config.h"});
    expect_error_naming(r, 2, "config file /nonexistent/my_config.h does not exist");
    EXPECT_EQ(r.error_lines().size(), 1u);
}

TEST_F(BadInput, ConfigThatDoesNotCompileNamesTheFileTheLineAndTheError) {
    const fs::path dir = scratch_dir("broken-config");
    const fs::path config = dir / "broken_config.h";
    fs::copy_file(test_cache() / "mbedtls/3.6/include/mbedtls/mbedtls_config.h", config);
    std::ofstream(config, std::ios::app) << "#define MBEDTLS_SSL_IN_CONTENT_LEN 4096x\n";
    const RunResult r = run_tlsheap({"profile", "--config", config.string()});
    expect_error_naming(r, 2, "does not compile");
    const std::string line = r.error_lines().front();
    EXPECT_NE(line.find(config.string() + ":"), std::string::npos)
        << line;                                                       // the user's file and line
    EXPECT_NE(line.find("invalid suffix"), std::string::npos) << line; // the compiler's own words
}

TEST_F(BadInput, ConfigRejectedByCheckConfigFailsBeforeCompiling) {
    // 3.6 refuses TLS 1.3 without the peer certificate kept (check_config.h).
    const RunResult r = run_tlsheap({"profile", "--unset", "MBEDTLS_SSL_KEEP_PEER_CERTIFICATE"});
    expect_error_naming(r, 2, "does not compile");
    EXPECT_NE(r.error_lines().front().find("#error \"MBEDTLS_SSL_PROTO_TLS1_3 defined without "
                                           "MBEDTLS_SSL_KEEP_PEER_CERTIFICATE\""),
              std::string::npos)
        << r.error_lines().front();
    EXPECT_EQ(r.err.find("building mbedTLS"), std::string::npos) << "compiled before checking";
}

TEST_F(BadInput, ConfigLackingWhatTheScenarioNeedsFailsBeforeBuilding) {
    const RunResult r =
        run_tlsheap({"profile", "--unset", "MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED"});
    expect_error_naming(r, 2,
                        "lacks MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED, which scenario "
                        "tls12-ecdhe-ecdsa-p256 needs");
    EXPECT_EQ(r.err.find("building mbedTLS"), std::string::npos) << "compiled before checking";
}

TEST_F(BadInput, UnknownScenario) {
    expect_error_naming(run_tlsheap({"profile", "--scenario", "tls99-nope"}), 2,
                        "unknown scenario 'tls99-nope' (known: dtls12-coap-ecdhe-ecdsa, "
                        "dtls12-ecdhe-ecdsa-p256, dtls12-psk-ccm8, mqtt-tls12-mutual-rsa");
}

TEST_F(BadInput, UnknownAndMalformedMacros) {
    expect_error_naming(run_tlsheap({"profile", "--set", "MBEDTLS_NO_SUCH_OPTION"}), 2,
                        "unknown macro MBEDTLS_NO_SUCH_OPTION");
    expect_error_naming(run_tlsheap({"profile", "--set", "1X=2"}), 2, "is not a macro name");
    expect_error_naming(run_tlsheap({"profile", "--set", "MBEDTLS_SSL_IN_CONTENT_LEN=4096",
                                     "--unset", "MBEDTLS_SSL_IN_CONTENT_LEN"}),
                        2, "both --set and --unset");
}

TEST_F(BadInput, UnknownMbedtlsTree) {
    expect_error_naming(run_tlsheap({"profile", "--mbedtls", "/nonexistent/mbedtls"}), 2,
                        "is not an mbedTLS source tree");
}

TEST_F(BadInput, PortInUse) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const std::string port = std::to_string(ntohs(a.sin_port));
    for (const std::string peer : {"mbedtls", "openssl", "gnutls", "nginx"}) {
        expect_error_naming(run_tlsheap({"profile", "--peer", peer, "--port", port}), 2,
                            "port 127.0.0.1:" + port + " is in use");
    }
    ::close(fd);
}

// nginx is in /usr/sbin, which this PATH leaves out.
TEST_F(BadInput, MissingServerProgramNamesItsDebianPackage) {
    const RunResult r = run_tlsheap_with_env({"profile", "--peer", "nginx"},
                                             {{"PATH", "/usr/local/bin:/usr/bin:/bin"}});
    expect_error_naming(r, 1, "(install Debian's nginx-light package)");
    expect_nothing_left_running();
}

// The broker requires a client certificate from the RSA chain's root; the
// client presents the ECDSA test PKI's. mosquitto refuses the handshake
// with an alert: one line that names it, and the broker is stopped.
TEST_F(BadInput, BrokerThatRejectsTheClientCertificateIsOneLine) {
    const fs::path scenarios = fs::path(TLSHEAP_SOURCE_DIR) / "scenarios";
    json s = read_json(scenarios / "mqtt-tls12-mutual-rsa.json");
    json& auth = s["authentication"];
    for (const char* key : {"ca", "server_key", "client_ca"}) {
        auth[key] = (scenarios / auth[key].get<std::string>()).string();
    }
    for (json& f : auth["server_chain"]) {
        f = (scenarios / f.get<std::string>()).string();
    }
    auth["client_chain"] = json::array({(scenarios / "pki/ecdsa-p256/client.crt.pem").string()});
    auth["client_key"] = (scenarios / "pki/ecdsa-p256/client.key.pem").string();
    s["name"] = "mqtt-foreign-client";
    const fs::path file = scratch_dir("mqtt-foreign") / "mqtt-foreign-client.json";
    std::ofstream(file) << s.dump();
    const RunResult r = run_tlsheap({"profile", "--scenario", file.string()});
    // OpenSSL's verdict on a chain to a root it does not trust (RFC 8446 6.2).
    expect_error_naming(r, 1, "the peer sent a fatal alert: unknown_ca");
    EXPECT_EQ(r.error_lines().size(), 1u) << r.err;
    expect_nothing_left_running();
}

// A scenario file of the committed one `name`, changed by `edit`, its
// credentials named by absolute path, written to a scratch directory.
fs::path edited_scenario(const std::string& name, const std::string& new_name,
                         const std::function<void(json&)>& edit) {
    const fs::path scenarios = fs::path(TLSHEAP_SOURCE_DIR) / "scenarios";
    json s = read_json(scenarios / (name + ".json"));
    if (s.contains("authentication")) {
        for (auto item : s["authentication"].items()) {
            json& value = item.value();
            if (value.is_string() && value.get<std::string>().rfind("pki/", 0) == 0) {
                value = (scenarios / value.get<std::string>()).string();
            } else if (value.is_array()) {
                for (json& f : value) {
                    f = (scenarios / f.get<std::string>()).string();
                }
            }
        }
    }
    s["name"] = new_name;
    edit(s);
    const fs::path file = scratch_dir(new_name) / (new_name + ".json");
    std::ofstream(file) << s.dump();
    return file;
}

// DTLS options where there is no DTLS: refused before anything is built.
TEST_F(BadInput, DtlsOptionsOnTlsAreOneLine) {
    expect_error_naming(run_tlsheap({"profile", "--drop-datagram", "2"}), 2,
                        "--drop-datagram needs a DTLS scenario; tls12-ecdhe-ecdsa-p256 is tls1.2 "
                        "over TCP");
    const fs::path cid_on_tls = edited_scenario("tls12-psk-aes128-ccm", "tls-with-cid",
                                                [](json& s) { s["dtls"]["connection_id"] = 4; });
    expect_error_naming(run_tlsheap({"profile", "--scenario", cid_on_tls.string()}), 2,
                        "a \"dtls\" object (connection ID, HelloVerifyRequest, MTU) needs "
                        "protocol dtls1.2, not tls1.2");
    expect_error_naming(
        run_tlsheap({"profile", "--scenario", "dtls12-psk-ccm8", "--drop-datagram", "0"}), 2,
        "--drop-datagram");
}

// coap-server answers a GET of a path it does not serve with 4.04: the
// recording fails in one line that says so, and the server is stopped.
TEST_F(BadInput, CoapServerThatAnswersNotFoundIsOneLine) {
    const fs::path file = edited_scenario("dtls12-psk-ccm8", "coap-missing", [](json& s) {
        s["exchange"]["coap_path"] = "/missing";
        s["peers"] = json::array({"coap"});
    });
    const RunResult r = run_tlsheap({"profile", "--scenario", file.string()});
    expect_error_naming(r, 1, "the CoAP server answered 4.04 Not Found to GET /missing");
    EXPECT_EQ(r.error_lines().size(), 1u) << r.err;
    expect_nothing_left_running();
}

TEST_F(BadInput, PeerThatNeverAnswersTimesOut) {
    SilentListener silent;
    const fs::path dir = scratch_dir("silent");
    // On the host ABI: an emulated recorder (ilp32 under qemu-i386 where the
    // kernel runs no 32-bit programs) waits ten times the --timeout.
    const RunResult r = run_tlsheap({"profile", "--abi", "host", "--connect",
                                     "127.0.0.1:" + std::to_string(silent.port()), "--timeout", "1",
                                     "--trace", (dir / "t.trace").string()},
                                    test_cache(), 120);
    expect_error_naming(r, 1, "peer did not answer within 1000 ms");
    EXPECT_NE(r.error_lines().front().find("SERVER_HELLO"), std::string::npos);
    // The trace of what happened until then is kept and complete.
    EXPECT_TRUE(fs::exists(dir / "t.trace"));
    const RunResult show = run_tlsheap({"trace", "show", (dir / "t.trace").string()});
    EXPECT_EQ(show.status, 0);
    EXPECT_NE(show.out.find("complete"), std::string::npos);
}

TEST_F(BadInput, OutputInAMissingDirectoryIsRefusedBeforeAnythingRuns) {
    const std::string missing = "/nonexistent-tlsheap-dir/out.json";
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"profile", "--json", missing},
          {"profile", "--trace", "/nonexistent-tlsheap-dir/run.trace"},
          {"sweep", "--vary", "MBEDTLS_SSL_IN_CONTENT_LEN=4096,16384", "--json", missing},
          {"advise", "--json", missing},
          {"replay", "/nonexistent-tlsheap-dir/in.trace", "--json", missing}}) {
        const RunResult r = run_tlsheap(args);
        expect_error_naming(r, 2, "directory /nonexistent-tlsheap-dir does not exist");
        EXPECT_EQ(r.error_lines().size(), 1u) << r.err;
        EXPECT_EQ(r.err.find("tlsheap: "), r.err.find("tlsheap: error:"))
            << args.front() << " did work before refusing: " << r.err;
    }
    const fs::path dir = scratch_dir("output-is-a-directory");
    expect_error_naming(run_tlsheap({"profile", "--json", dir.string()}), 2,
                        dir.string() + " is a directory");
}

TEST_F(BadInput, UnparsableOptionsGetOneLineToo) {
    const RunResult r = run_tlsheap({"profile", "--jobs", "many"});
    expect_error_naming(r, 2, "--jobs");
    EXPECT_EQ(r.error_lines().size(), 1u) << r.err;
    expect_error_naming(run_tlsheap({"profile", "--no-such-option"}), 2, "--no-such-option");
    expect_error_naming(run_tlsheap({"no-such-command"}), 2,
                        "unknown command 'no-such-command' (commands: profile, replay");
    EXPECT_EQ(run_tlsheap({"profile", "--help"}).status, 0);
}

class BadTrace : public BadInput {
  protected:
    static void SetUpTestSuite() {
        dir_ = new fs::path(scratch_dir("bad-trace"));
        const RunResult r = run_tlsheap({"profile", "--scenario", "tls12-psk-aes128-ccm", "--trace",
                                         (*dir_ / "good.trace").string()});
        ASSERT_EQ(r.status, 0) << r.err;
        std::ifstream in(*dir_ / "good.trace", std::ios::binary);
        bytes_ =
            new std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
    static void TearDownTestSuite() {
        delete dir_;
        delete bytes_;
    }
    static fs::path write(const std::string& name, const std::string& bytes) {
        const fs::path p = *dir_ / name;
        std::ofstream(p, std::ios::binary) << bytes;
        return p;
    }
    static fs::path* dir_;
    static std::string* bytes_;
};
fs::path* BadTrace::dir_ = nullptr;
std::string* BadTrace::bytes_ = nullptr;

TEST_F(BadTrace, CorruptTraceIsRefusedWithTheOffset) {
    std::string bytes = *bytes_;
    bytes[bytes.size() * 2 / 3] ^= 0x01;
    const fs::path p = write("corrupt.trace", bytes);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"trace", "show", p.string()},
          {"replay", p.string()},
          {"trace", "export", p.string(), "--json", (*dir_ / "x.json").string()}}) {
        expect_error_naming(run_tlsheap(args), 2, "corrupt at byte");
    }
}

TEST_F(BadTrace, TruncatedTraceReadsToItsLastCompleteEventWithAWarning) {
    const fs::path p = write("truncated.trace", bytes_->substr(0, bytes_->size() / 2));
    const RunResult show = run_tlsheap({"trace", "show", p.string()});
    EXPECT_EQ(show.status, 0) << show.err;
    EXPECT_NE(show.out.find("TRUNCATED"), std::string::npos);
    EXPECT_NE(show.out.find("is truncated at byte"), std::string::npos);
    const RunResult replayed = run_tlsheap({"replay", p.string()});
    EXPECT_EQ(replayed.status, 0) << replayed.err;
    EXPECT_NE(replayed.out.find("warning: "), std::string::npos);
}

TEST_F(BadTrace, NotATraceAtAll) {
    const fs::path p = write("text.trace", "this is not a trace\n");
    expect_error_naming(run_tlsheap({"trace", "show", p.string()}), 2, "is not a tlsheap trace");
    expect_error_naming(run_tlsheap({"replay", "/nonexistent.trace"}), 2, "cannot open trace");
}

TEST_F(BadTrace, TraceFromANewerFormatVersion) {
    std::string bytes = *bytes_;
    // Header: magic[8] major:u16le minor:u16le; make it format 9.0.
    bytes[8] = 9;
    bytes[9] = 0;
    bytes[10] = 0;
    bytes[11] = 0;
    expect_error_naming(run_tlsheap({"trace", "show", write("future.trace", bytes).string()}), 2,
                        "trace format 9.0; this tlsheap reads format 1.x (upgrade tlsheap)");
}

TEST_F(BadTrace, UnknownModelAndOption) {
    const fs::path p = write("ok.trace", *bytes_);
    expect_error_naming(run_tlsheap({"replay", p.string(), "--model", "dlmalloc"}), 2, "dlmalloc");
    expect_error_naming(run_tlsheap({"replay", p.string(), "--model", "mbedtls-pool:colour=red"}),
                        2, "colour");
}

} // namespace
} // namespace tlsheap::testing
