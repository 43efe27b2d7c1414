// A program that uses mbedTLS from Debian's shared libraries (libmbedtls-dev,
// 2.28.3), recorded by `tlsheap record` through its preload shim: mbedTLS's
// own ssl_client1, built from the fetched 2.28 tree (2.28.3, Debian's
// version) once against /usr/lib's libmbedtls.so.14 and once statically
// against a variant exported with Debian's installed config.h. Both
// handshake with `openssl s_server` on 127.0.0.1:4433 (the port fixed in
// ssl_client1's source), on a suite without ephemeral keys, so that no
// allocation size depends on random numbers. The export's recording (--wrap,
// proved against memory_buffer_alloc's own statistics by own_program_test)
// and the preload shim's must see the same allocations, phase by phase and
// state by state.
#include "process/child_process.h"
#include "tlsheap_harness.h"

#include <chrono>
#include <fstream>
#include <gtest/gtest.h>
#include <thread>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path tree() {
    return test_cache() / "mbedtls" / "2.28";
}

constexpr const char* kDebianConfig = "/usr/include/mbedtls/config.h";

process::CommandResult shell(const std::string& command, const fs::path& dir,
                             const std::vector<std::pair<std::string, std::string>>& env = {}) {
    return process::run_command({"sh", "-c", command}, std::chrono::minutes(5), dir.string(), env);
}

class SharedLibraryProgram : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new fs::path(scratch_dir("shared-library-program"));
        const fs::path& dir = *dir_;
        const std::string client = (tree() / "programs" / "ssl" / "ssl_client1.c").string();
        const auto dynamic = shell(
            "gcc -g -O1 " + client + " -o ssl_client1 -lmbedtls -lmbedx509 -lmbedcrypto", dir);
        ASSERT_EQ(dynamic.status, 0) << dynamic.err;
        const RunResult exported =
            run_tlsheap({"build", "--mbedtls", "2.28", "--config", kDebianConfig, "--export",
                         (dir / "debian-config").string(), "-q"});
        ASSERT_EQ(exported.status, 0) << exported.err;
        const auto linked = shell(
            "gcc -g -O1 $(pkg-config --cflags tlsheap-mbedtls) " + client +
                " -o ssl_client1_static $(pkg-config --libs tlsheap-mbedtls)",
            dir, {{"PKG_CONFIG_PATH", (dir / "debian-config" / "lib" / "pkgconfig").string()}});
        ASSERT_EQ(linked.status, 0) << linked.err;
        ready_ = true;
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }
    void SetUp() override { ASSERT_TRUE(ready_) << "a program did not build"; }
    void TearDown() override { expect_nothing_left_running(); }

    static fs::path* dir_;
    static bool ready_;
};

fs::path* SharedLibraryProgram::dir_ = nullptr;
bool SharedLibraryProgram::ready_ = false;

// openssl s_server on 127.0.0.1:4433 with the tree's RSA test certificate,
// TLS 1.2 and RSA key exchange only; answers ssl_client1's GET with a page.
std::unique_ptr<process::ChildProcess> start_server() {
    const fs::path data = tree() / "tests" / "data_files";
    process::LaunchOptions launch;
    launch.argv = {"openssl", "s_server",
                   "-accept", "127.0.0.1:4433",
                   "-cert",   (data / "server2-sha256.crt").string(),
                   "-key",    (data / "server2.key").string(),
                   "-cipher", "AES128-GCM-SHA256",
                   "-tls1_2", "-www"};
    auto server = std::make_unique<process::ChildProcess>(launch);
    EXPECT_TRUE(server->wait_for_line(
        [](const std::string& line) { return line.find("ACCEPT") != std::string::npos; },
        std::chrono::seconds(30)))
        << server->stderr_text();
    return server;
}

json record(const fs::path& dir, const std::string& program, RunResult& result) {
    const fs::path json_path = dir / (program + ".json");
    result = run_tlsheap({"record", "--trace", (dir / (program + ".trace")).string(), "--json",
                          json_path.string(), "--", (dir / program).string()});
    if (result.status != 0) {
        ADD_FAILURE() << program << ": " << result.err;
        return json::object();
    }
    return read_json(json_path);
}

const json& named(const json& list, const char* key, const std::string& name) {
    for (const json& entry : list) {
        if (entry[key] == name) {
            return entry;
        }
    }
    static const json none;
    ADD_FAILURE() << "no " << key << " " << name;
    return none;
}

TEST_F(SharedLibraryProgram, PreloadedSharedLibrariesAllocateWhatTheExportedVariantDoes) {
    const fs::path& dir = *dir_;
    auto server = start_server();
    RunResult shared_run;
    RunResult static_run;
    const json shared = record(dir, "ssl_client1", shared_run);
    const json linked = record(dir, "ssl_client1_static", static_run);
    server->stop();
    ASSERT_TRUE(shared.contains("phases") && linked.contains("phases"));

    // The preload shim was used, and says so.
    EXPECT_NE(shared_run.err.find("loads mbedTLS as shared libraries (libmbedtls.so.14"),
              std::string::npos)
        << shared_run.err;
    EXPECT_EQ(shared["variant"]["mbedtls_version"], "2.28.3");
    EXPECT_EQ(shared["run"]["side"], "client");

    // Every phase and state, in the order stepped: the same allocations.
    for (const char* list : {"phases", "states"}) {
        const char* key = std::string(list) == "phases" ? "phase" : "state";
        ASSERT_EQ(shared[list].size(), linked[list].size()) << list;
        ASSERT_GE(shared[list].size(), 5u) << list;
        for (std::size_t i = 0; i < shared[list].size(); ++i) {
            const json& a = shared[list][i];
            const json& b = linked[list][i];
            ASSERT_EQ(a[key], b[key]) << list << " " << i;
            for (const char* figure : {"peak_bytes", "allocations", "frees", "bytes_allocated"}) {
                EXPECT_EQ(a[figure], b[figure]) << a[key] << " " << figure;
            }
        }
    }
    EXPECT_GT(named(shared["states"], "state", "SERVER_CERTIFICATE")["allocations"], 0);
    EXPECT_EQ(shared["live_peak"]["bytes"], linked["live_peak"]["bytes"]);
    EXPECT_EQ(shared["live_peak"]["at"]["seq"], linked["live_peak"]["at"]["seq"]);
    for (const char* model : {"ideal", "mbedtls-pool"}) {
        EXPECT_EQ(model_of(shared, model)["footprint"], model_of(linked, model)["footprint"])
            << model;
    }
    // The record buffers, marked by the hooks of mbedtls_ssl_setup (which
    // reads ssl->in_buf/out_buf through the shim's Debian-config headers).
    std::uint64_t buffer_bytes = 0;
    ASSERT_EQ(shared["record_buffers"].size(), 2u);
    ASSERT_EQ(linked["record_buffers"].size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(shared["record_buffers"][i]["role"], linked["record_buffers"][i]["role"]);
        EXPECT_EQ(shared["record_buffers"][i]["bytes"], linked["record_buffers"][i]["bytes"]);
        buffer_bytes += shared["record_buffers"][i]["bytes"].get<std::uint64_t>();
    }
    EXPECT_EQ(shared["leaks"]["bytes"], 0);
    // The TLS records the program's own transport carried (its BIO
    // callbacks, tapped), and the handshake's outcome.
    EXPECT_EQ(shared["tls_records"], linked["tls_records"]);
    EXPECT_GT(shared["tls_records"]["received"]["count"], 0);
    EXPECT_GT(shared["tls_records"]["sent"]["count"], 0);

    // So every buffer scheme applies, and gives the same figures.
    const auto compare = [&dir](const std::string& program) {
        const fs::path out = dir / (program + ".compare.json");
        const RunResult r =
            run_tlsheap({"compare", (dir / (program + ".trace")).string(), "--json", out.string()});
        EXPECT_EQ(r.status, 0) << r.err;
        json rows = r.status == 0 ? read_json(out)["rows"] : json::array();
        for (json& row : rows) {
            row.erase("trace");
        }
        return rows;
    };
    const json shared_schemes = compare("ssl_client1");
    EXPECT_EQ(shared_schemes, compare("ssl_client1_static"));
    for (const json& row : shared_schemes) {
        EXPECT_TRUE(row["error"].is_null() || row["error"] == "") << row.dump();
    }

    // advise reads both; what it tells apart by a static function's name
    // (the peer chain's DER copies) it does not guess for stripped libraries.
    const auto advise = [&dir](const std::string& program) {
        const fs::path out = dir / (program + ".advise.json");
        const RunResult r =
            run_tlsheap({"advise", (dir / (program + ".trace")).string(), "--json", out.string()});
        EXPECT_EQ(r.status, 0) << r.err;
        return r.status == 0 ? read_json(out) : json::object();
    };
    const json shared_advice = advise("ssl_client1");
    const json linked_advice = advise("ssl_client1_static");
    std::vector<std::string> shared_titles;
    std::vector<std::string> linked_titles;
    for (const json& p : shared_advice["proposals"]) {
        shared_titles.push_back(p["title"]);
    }
    for (const json& p : linked_advice["proposals"]) {
        if (p["title"] != "do not keep the peer's certificate chain after verifying it") {
            linked_titles.push_back(p["title"]);
        }
    }
    EXPECT_EQ(shared_titles, linked_titles);
    EXPECT_GT(linked_advice["proposals"].size(), shared_advice["proposals"].size());
    EXPECT_NE(shared_advice["notes"].dump().find("without debug information"), std::string::npos)
        << shared_advice["notes"].dump();

    // Call sites are in the libraries (named by their exported functions, or
    // by library and offset), never in the program.
    std::uint64_t setup_bytes = 0;
    for (const json& site : shared["alive_at_peak"]) {
        const std::string name = site["call_site"];
        EXPECT_NE(name, "main");
        EXPECT_EQ(name.find("ssl_client1"), std::string::npos) << name;
        if (name == "mbedtls_ssl_setup") {
            setup_bytes += site["bytes"].get<std::uint64_t>();
        }
    }
    EXPECT_EQ(setup_bytes, buffer_bytes);
}

// A library named as mbedTLS's, built here: of a version tlsheap does not
// know, or of the right name and the wrong version.
fs::path fake_library_program(const fs::path& dir, const std::string& soname,
                              const std::string& version) {
    fs::create_directories(dir);
    std::ofstream(dir / "lib.c") << "#include <string.h>\n"
                                    "void mbedtls_version_get_string(char *s) { strcpy(s, \""
                                 << version << "\"); }\n";
    std::ofstream(dir / "app.c") << "void mbedtls_version_get_string(char *s);\n"
                                    "int main(void) { char v[18]; mbedtls_version_get_string(v); "
                                    "return 0; }\n";
    const auto b =
        shell("gcc -shared -fPIC -Wl,-soname," + soname + " -o " + soname +
                  " lib.c && gcc app.c -o app ./" + soname + " -Wl,-rpath," + dir.string(),
              dir);
    EXPECT_EQ(b.status, 0) << b.err;
    return dir / "app";
}

TEST_F(SharedLibraryProgram, WhatTheShimCannotRecordIsNamedAndNoTraceIsWritten) {
    const fs::path trace = *dir_ / "fake.trace";
    const fs::path unknown = fake_library_program(*dir_ / "unknown", "libmbedtls.so.99", "9.9.9");
    const RunResult r = run_tlsheap({"record", "--trace", trace.string(), "--", unknown.string()});
    expect_one_line_error(r, "loads mbedTLS shared libraries of no version tlsheap knows "
                             "(libmbedtls.so.99)");

    // 2.28's name, another version: the shim's structures would not be the
    // library's, so it records nothing and says why.
    const fs::path other = fake_library_program(*dir_ / "other", "libmbedtls.so.14", "2.28.0");
    const RunResult o = run_tlsheap({"record", "--trace", trace.string(), "--", other.string()});
    expect_one_line_error(o, 1, "wrote no trace");
    EXPECT_NE(o.err.find("loads mbedTLS 2.28.0, the preload shim was built for 2.28.3"),
              std::string::npos)
        << o.err;
    EXPECT_FALSE(fs::exists(trace));

    // A program with an allocator of its own (the dynamic linker finds the
    // program's calloc before the shim's) keeps the libraries' calls from the
    // shim: said, not recorded as a program that allocates nothing. (Not a
    // malloc in tlsheap's LD_PRELOAD: that would reach tlsheap itself.)
    const fs::path own = *dir_ / "own-allocator";
    fs::create_directories(own);
    std::ofstream(own / "allocator.c")
        << "#include <stddef.h>\n"
           "void *__libc_calloc(size_t, size_t);\n"
           "void __libc_free(void *);\n"
           "void *calloc(size_t n, size_t s) { return __libc_calloc(n, s); }\n"
           "void free(void *p) { __libc_free(p); }\n";
    const auto built =
        shell("gcc -g -O1 " + (tree() / "programs" / "ssl" / "ssl_client1.c").string() +
                  " allocator.c -o app -lmbedtls -lmbedx509 -lmbedcrypto",
              own);
    ASSERT_EQ(built.status, 0) << built.err;
    const RunResult p =
        run_tlsheap({"record", "--trace", trace.string(), "--", (own / "app").string()});
    expect_one_line_error(p, 1, "wrote no trace");
    EXPECT_NE(p.err.find("'s, found before tlsheap's shim (the program's own allocator"),
              std::string::npos)
        << p.err;
    EXPECT_FALSE(fs::exists(trace));

    // --config is for shared libraries only.
    const RunResult c =
        run_tlsheap({"record", "--trace", trace.string(), "--config", kDebianConfig, "--", "true"});
    expect_one_line_error(c, "loads none");
}

} // namespace
} // namespace tlsheap::testing
