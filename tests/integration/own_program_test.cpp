// A user's own program, recorded: mbedTLS's ssl_client2, ssl_server2 and
// mini_client, built from the fetched 3.6 tree against variants exported by
// `tlsheap build --export` (through pkg-config and through the CMake
// package), recorded with `tlsheap record` against ssl_server2 on 127.0.0.1.
// On a variant with MBEDTLS_MEMORY_BUFFER_ALLOC_C and MBEDTLS_MEMORY_DEBUG the
// programs run on mbedTLS's own pool and print its statistics: max_used and
// max_blocks must be the mbedtls-pool model's figures for the trace, and every
// allocation must land at the offset the real allocator gave it. mini_client
// on the configs scripts/memory.sh measures it with must allocate what the
// built-in client allocates doing the same things.
#include "mbedtls_programs.h"
#include "process/child_process.h"
#include "tlsheap_harness.h"

#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <map>
#include <regex>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// "max: 156 blocks / 74348 bytes" from mbedtls_memory_buffer_alloc_status().
struct PoolStatus {
    std::uint64_t max_blocks = 0;
    std::uint64_t max_used = 0;
};
PoolStatus printed_status(const std::string& err) {
    const std::regex line(
        R"(Current use: \d+ blocks / \d+ bytes, max: (\d+) blocks / (\d+) bytes)");
    std::smatch m;
    if (!std::regex_search(err, m, line)) {
        ADD_FAILURE() << "no memory_buffer_alloc status in:\n" << err;
        return {};
    }
    return {std::stoull(m[1]), std::stoull(m[2])};
}

// The program's own figures are the model's, and every allocation is where
// the real pool put it.
void expect_pool_model_matches(const json& j, const PoolStatus& printed) {
    const json pool = model_of(j, "mbedtls-pool");
    ASSERT_FALSE(pool.is_null());
    EXPECT_EQ(pool["statistics"]["max_used"], printed.max_used);
    EXPECT_EQ(pool["statistics"]["max_blocks"], printed.max_blocks);
    EXPECT_EQ(j["real_pool"]["max_used"], printed.max_used);
    expect_every_block_where_the_real_pool_put_it(j);
}

std::vector<std::string> stepped_states(const json& j) {
    std::vector<std::string> names;
    for (const json& s : j["states"]) {
        names.push_back(s["state"].get<std::string>());
    }
    return names;
}

class OwnProgram : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new fs::path(scratch_dir("own-program"));
        const fs::path& dir = *dir_;
        const std::string t = mbedtls_tree().string();
        // ssl_client2 and ssl_server2 on mbedTLS's own pool, through pkg-config.
        export_variant(dir, "pool",
                       {"--set", "MBEDTLS_MEMORY_BUFFER_ALLOC_C", "--set", "MBEDTLS_MEMORY_DEBUG"});
        for (const char* program : {"ssl_client2", "ssl_server2"}) {
            build_ssl_test_program(dir, "pool", program);
            if (HasFatalFailure()) {
                return;
            }
        }
        // mini_client on the two configs mbedTLS's scripts/memory.sh measures
        // it with: config-ccm-psk-tls1_2.h through the CMake package,
        // config-suite-b.h through pkg-config.
        export_variant(dir, "ccm-psk", {"--config", t + "/configs/config-ccm-psk-tls1_2.h"});
        fs::create_directories(dir / "mini");
        std::ofstream(dir / "mini" / "CMakeLists.txt")
            << "cmake_minimum_required(VERSION 3.20)\nproject(mini C)\n"
               "find_package(tlsheap-mbedtls REQUIRED CONFIG)\n"
               "add_executable(mini_client "
            << t
            << "/programs/ssl/mini_client.c)\n"
               "target_compile_options(mini_client PRIVATE -g)\n"
               "target_link_libraries(mini_client PRIVATE tlsheap::mbedtls)\n";
        const auto c = with_package(
            "cmake -S mini -B mini/build -DCMAKE_PREFIX_PATH=" + (dir / "ccm-psk").string() +
                " >/dev/null && cmake --build mini/build >/dev/null",
            dir, "ccm-psk");
        ASSERT_EQ(c.status, 0) << c.out << c.err;
        export_variant(dir, "suite-b", {"--config", t + "/configs/config-suite-b.h"});
        const auto m = with_package("gcc -g -O1 $(pkg-config --cflags tlsheap-mbedtls) " + t +
                                        "/programs/ssl/mini_client.c -o mini_client_suite_b "
                                        "$(pkg-config --libs tlsheap-mbedtls)",
                                    dir, "suite-b");
        ASSERT_EQ(m.status, 0) << m.err;
        ready_ = true;
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }
    void SetUp() override { ASSERT_TRUE(ready_) << "an export or a program did not build"; }
    void TearDown() override { expect_nothing_left_running(); }

    static fs::path* dir_;
    static bool ready_;
};

fs::path* OwnProgram::dir_ = nullptr;
bool OwnProgram::ready_ = false;

// `tlsheap record -- ssl_server2` in the background, until it listens.
std::unique_ptr<process::ChildProcess> record_server(const fs::path& dir, unsigned port,
                                                     const std::string& trace,
                                                     const std::string& json_path) {
    process::LaunchOptions launch;
    launch.argv = {TLSHEAP_BINARY,
                   "record",
                   "--trace",
                   trace,
                   "--json",
                   json_path,
                   "--timeout",
                   "120",
                   "--",
                   (dir / "ssl_server2").string(),
                   "server_port=" + std::to_string(port),
                   "exchanges=1"};
    launch.environment = {{"TLSHEAP_CACHE_DIR", test_cache().string()}};
    auto server = std::make_unique<process::ChildProcess>(launch);
    EXPECT_TRUE(wait_until_listening(*server)) << server->stdout_text() << server->stderr_text();
    return server;
}

TEST_F(OwnProgram, Client2AndServer2PrintThePoolModelsMaxUsedAndMaxBlocks) {
    const fs::path& dir = *dir_;
    const unsigned port = free_port();
    auto server = record_server(dir, port, (dir / "s.trace").string(), (dir / "s.json").string());
    const RunResult client =
        run_tlsheap({"record", "--trace", (dir / "c.trace").string(), "--json",
                     (dir / "c.json").string(), "--", (dir / "ssl_client2").string(),
                     "server_port=" + std::to_string(port), "server_addr=127.0.0.1"});
    // ssl_server2 ends cleanly on SIGTERM; `tlsheap record` passes it on.
    ::kill(server->pid(), SIGTERM);
    const auto server_status = server->wait(std::chrono::seconds(60));
    ASSERT_TRUE(server_status.has_value());
    ASSERT_EQ(client.status, 0) << client.err;
    EXPECT_EQ(*server_status, 0) << server->stderr_text();

    const json c = read_json(dir / "c.json");
    EXPECT_EQ(c["run"]["side"], "client");
    EXPECT_NE(c["run"]["program"].get<std::string>().find("ssl_client2"), std::string::npos);
    expect_pool_model_matches(c, printed_status(client.err));
    const auto client_states = stepped_states(c);
    EXPECT_NE(std::find(client_states.begin(), client_states.end(), "CLIENT_HELLO"),
              client_states.end());
    EXPECT_NE(std::find(client_states.begin(), client_states.end(), "SERVER_CERTIFICATE"),
              client_states.end());

    const json s = read_json(dir / "s.json");
    EXPECT_EQ(s["run"]["side"], "server");
    expect_pool_model_matches(s, printed_status(server->stderr_text()));
    const auto server_states = stepped_states(s);
    EXPECT_NE(std::find(server_states.begin(), server_states.end(), "CLIENT_HELLO"),
              server_states.end());
    // Both exit with everything freed: nothing left alive.
    EXPECT_EQ(c["leaks"]["bytes"], 0);
    EXPECT_EQ(s["leaks"]["bytes"], 0);
}

// ssl_server2 of the pool export on 127.0.0.1:4433, the port mini_client's
// source fixes. TLS 1.2 at most: mini_client offers no extension, and 3.6's
// TLS 1.3 server code refuses such a ClientHello (DECODE_ERROR).
std::unique_ptr<process::ChildProcess> server_for_mini_client(const fs::path& dir,
                                                              const std::string& psk_option) {
    process::LaunchOptions launch;
    launch.argv = {(dir / "ssl_server2").string(), "server_port=4433", "max_version=tls12"};
    if (!psk_option.empty()) {
        launch.argv.push_back(psk_option);
    }
    launch.environment = {{"TLSHEAP_TRACE", ""}};
    auto server = std::make_unique<process::ChildProcess>(launch);
    EXPECT_TRUE(wait_until_listening(*server))
        << "ssl_server2 on port 4433, which mini_client needs: " << server->stdout_text();
    return server;
}

std::map<std::string, json> by_name(const json& list, const char* key) {
    std::map<std::string, json> out;
    for (const json& entry : list) {
        out[entry[key].get<std::string>()] = entry;
    }
    return out;
}

// The bytes of `name`'s initializer in a C source ("0x30, 0x82, ...").
std::string c_byte_array(const fs::path& source, const std::string& name) {
    std::ifstream in(source);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto start = text.find("{", text.find(name + "[] = {"));
    const auto end = text.find("};", start);
    std::string bytes;
    const std::regex hex("0x([0-9a-fA-F]{2})");
    const std::string body = text.substr(start, end - start);
    for (auto it = std::sregex_iterator(body.begin(), body.end(), hex);
         it != std::sregex_iterator(); ++it) {
        bytes.push_back(static_cast<char>(std::stoi((*it)[1].str(), nullptr, 16)));
    }
    return bytes;
}

TEST_F(OwnProgram, BuiltInClientOnCcmPskIsMiniClientAllocationForAllocation) {
    const fs::path& dir = *dir_;
    const std::string t = mbedtls_tree().string();
    auto server = server_for_mini_client(dir, "psk=000102030405060708090A0B0C0D0E0F");
    const RunResult mini =
        run_tlsheap({"record", "--trace", (dir / "psk.trace").string(), "--json",
                     (dir / "psk.json").string(), "--", (dir / "mini/build/mini_client").string()});
    server->stop();
    ASSERT_EQ(mini.status, 0) << mini.out << mini.err;
    const json m = read_json(dir / "psk.json");
    EXPECT_EQ(m["run"]["side"], "client");
    EXPECT_TRUE(!m.contains("real_pool") || m["real_pool"].is_null()) << m["real_pool"];
    EXPECT_TRUE(m["leaks"]["teardown_reached"]);
    EXPECT_EQ(m["leaks"]["bytes"], 0);

    // The built-in client doing what mini_client does: its PSK and identity
    // (the identity is copied into the config: its length is heap).
    const fs::path scenario = dir / "mini-client-ccm-psk.json";
    std::ofstream(scenario) << R"({
  "name": "mini-client-ccm-psk",
  "summary": "mini_client's handshake on config-ccm-psk-tls1_2.h",
  "protocol": "tls1.2",
  "ciphersuites": { "mbedtls": ["TLS-PSK-WITH-AES-128-CCM-8"], "openssl": "PSK-AES128-CCM8" },
  "authentication": { "mode": "psk", "psk_identity": "Client_identity",
                      "psk": "000102030405060708090a0b0c0d0e0f" },
  "server_name": "localhost",
  "exchange": { "response_bytes": 256 },
  "peers": ["mbedtls"],
  "requires": []
})";
    const RunResult built_in =
        run_tlsheap({"profile", "--config", t + "/configs/config-ccm-psk-tls1_2.h", "--scenario",
                     scenario.string(), "--abi", "host", "--json", (dir / "b.json").string()});
    ASSERT_EQ(built_in.status, 0) << built_in.err;
    const json b = read_json(dir / "b.json");
    EXPECT_EQ(b["live_peak"]["bytes"], m["live_peak"]["bytes"]);
    const auto mini_phases = by_name(m["phases"], "phase");
    for (const auto& [phase, p] : by_name(b["phases"], "phase")) {
        EXPECT_EQ(p, mini_phases.at(phase)) << phase;
    }
    const auto mini_states = by_name(m["states"], "state");
    for (const auto& [state, s] : by_name(b["states"], "state")) {
        ASSERT_TRUE(mini_states.count(state)) << state;
        for (const char* key : {"peak_bytes", "allocations", "frees", "bytes_allocated"}) {
            EXPECT_EQ(s[key], mini_states.at(state)[key]) << state << " " << key;
        }
    }
}

TEST_F(OwnProgram, BuiltInClientOnSuiteBPeaksWhereMiniClientDoes) {
    const fs::path& dir = *dir_;
    const std::string t = mbedtls_tree().string();
    // mini_client trusts the EC test CA it embeds: the built-in client gets the same bytes.
    const fs::path ca = dir / "mini_client_ca.der";
    std::ofstream(ca, std::ios::binary)
        << c_byte_array(t + "/programs/ssl/mini_client.c", "ca_cert");
    // The scenario's own server (unused: ssl_server2 serves) from the repository.
    const std::string pki = std::string(TLSHEAP_SOURCE_DIR) + "/scenarios/pki/ecdsa-p256";
    const fs::path scenario = dir / "mini-client-suite-b.json";
    std::ofstream(scenario) << R"({
  "name": "mini-client-suite-b",
  "summary": "mini_client's handshake on config-suite-b.h, against ssl_server2",
  "protocol": "tls1.2",
  "ciphersuites": { "mbedtls": ["TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
                                "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"],
                    "openssl": "ECDHE-ECDSA-AES256-GCM-SHA384" },
  "authentication": { "mode": "certificate", "ca": ")" +
                                   ca.string() + R"(",
                      "server_chain": [")" +
                                   pki + R"(/server.crt.pem"],
                      "server_key": ")" +
                                   pki + R"(/server.key.pem" },
  "server_name": "localhost",
  "exchange": { "response_bytes": 100 },
  "peers": ["mbedtls"],
  "requires": []
})";
    auto server = server_for_mini_client(dir, "");
    const RunResult mini =
        run_tlsheap({"record", "--trace", (dir / "sb.trace").string(), "--json",
                     (dir / "sb.json").string(), "--", (dir / "mini_client_suite_b").string()});
    ASSERT_EQ(mini.status, 0) << mini.out << mini.err;
    const RunResult built_in =
        run_tlsheap({"profile", "--config", t + "/configs/config-suite-b.h", "--scenario",
                     scenario.string(), "--abi", "host", "--connect", "127.0.0.1:4433", "--ca",
                     ca.string(), "--json", (dir / "bsb.json").string()});
    server->stop();
    ASSERT_EQ(built_in.status, 0) << built_in.err;
    const json m = read_json(dir / "sb.json");
    const json b = read_json(dir / "bsb.json");
    // The peak is in SERVER_CERTIFICATE, which verifies ssl_server2's fixed
    // chain; the key exchanges that follow draw fresh keys in each run.
    EXPECT_EQ(b["live_peak"]["bytes"], m["live_peak"]["bytes"]);
    EXPECT_EQ(b["live_peak"]["at"]["state"], "SERVER_CERTIFICATE");
    const auto mini_states = by_name(m["states"], "state");
    const json certificate = by_name(b["states"], "state").at("SERVER_CERTIFICATE");
    for (const char* key : {"peak_bytes", "allocations", "bytes_allocated"}) {
        EXPECT_EQ(certificate[key], mini_states.at("SERVER_CERTIFICATE")[key]) << key;
    }
    // What SETUP leaves for the handshake is the same; the built-in client
    // reads its CA from a file (a buffer it frees), mini_client from memory.
    EXPECT_EQ(by_name(b["phases"], "phase").at("SETUP")["live_at_end"],
              by_name(m["phases"], "phase").at("SETUP")["live_at_end"]);
}

TEST_F(OwnProgram, AProgramNotLinkedWithAnExportIsNamedAndNoTraceIsLeft) {
    const fs::path trace = *dir_ / "none.trace";
    const RunResult r = run_tlsheap({"record", "--trace", trace.string(), "--", "true"});
    expect_one_line_error(r, 1, "true wrote no trace");
    EXPECT_FALSE(fs::exists(trace));
    const RunResult missing =
        run_tlsheap({"record", "--trace", trace.string(), "--", "/nonexistent/my_app"});
    expect_one_line_error(missing, "cannot run /nonexistent/my_app");
}

TEST_F(OwnProgram, ExportRefusesADirectoryThatHoldsSomethingElse) {
    const fs::path other = scratch_dir("own-program-other");
    std::ofstream(other / "notes.txt") << "mine\n";
    const RunResult r = run_tlsheap({"build", "--export", other.string(), "-q"});
    expect_one_line_error(r, "not empty and holds no earlier tlsheap export");
    EXPECT_TRUE(fs::exists(other / "notes.txt"));
}

} // namespace
} // namespace tlsheap::testing
