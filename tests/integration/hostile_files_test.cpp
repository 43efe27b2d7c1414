// Files from someone else (a trace from a CI artifact, a scenario, a config)
// and what is already on disk never make tlsheap compile a file the user did
// not name, write outside its cache, read without bound, or replace what is
// not its own; locks and scratch directories left by runs that stopped do not
// block or pile up.
#include "tlsheap/trace_encoder.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap_harness.h"
#include "variants/file_lock.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
namespace meta = trace::meta;

// A copy of `from` with some Meta values changed: what a trace handed over
// by someone else may say.
void rewrite_meta(const fs::path& from, const fs::path& to,
                  const std::map<std::string, std::string>& changes) {
    trace::TraceReader reader(from.string());
    std::vector<unsigned char> out =
        trace::encode_header(reader.version_major(), reader.version_minor());
    trace::Record r;
    std::uint64_t events = 0;
    while (reader.next(r)) {
        if (r.tag == trace::Tag::End)
            continue;
        if (r.tag == trace::Tag::Alloc || r.tag == trace::Tag::Free)
            ++events;
        if (r.tag == trace::Tag::Meta && changes.count(r.key) != 0) {
            trace::RecordEncoder()
                .string(r.key)
                .string(changes.at(r.key))
                .emit(trace::Tag::Meta, out);
            continue;
        }
        out.insert(out.end(), reader.last_record_data(),
                   reader.last_record_data() + reader.last_record_size());
    }
    ASSERT_TRUE(reader.complete());
    trace::encode_end(out, events);
    std::ofstream(to, std::ios::binary)
        .write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
}

// A scenario file that is the committed PSK one with `edit` applied to its
// text (no credentials: it loads from anywhere).
fs::path scenario_file(const fs::path& dir, const std::string& name,
                       const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j =
        read_json(fs::path(TLSHEAP_SOURCE_DIR) / "scenarios" / "tls12-psk-aes128-ccm.json");
    edit(j);
    const fs::path file = dir / (name + ".json");
    std::ofstream(file) << j.dump(2);
    return file;
}

class HostileFiles : public ::testing::Test {
  protected:
    void TearDown() override { expect_nothing_left_running(); }

    // A real trace of the RSA chain (advise has proposals for it), recorded once.
    static fs::path rsa_trace() {
        static const fs::path trace = [] {
            const fs::path dir = scratch_dir("hostile-rsa");
            const fs::path t = dir / "rsa.trace";
            const RunResult r = run_tlsheap({"profile", "--quiet", "--scenario",
                                             "tls12-ecdhe-rsa-chain", "--trace", t.string()});
            EXPECT_EQ(r.status, 0) << r.err;
            return t;
        }();
        return trace;
    }
};

// --- untrusted input never executes or escapes -------------------------------

TEST_F(HostileFiles, AdviseVerifyCompilesNoConfigTheTraceNames) {
    const fs::path dir = scratch_dir("hostile-base-file");
    const fs::path header = dir / "their_config.h";
    std::ofstream(header) << "#error tlsheap-hostile-marker: this header was compiled\n";
    const fs::path trace = dir / "theirs.trace";
    rewrite_meta(rsa_trace(), trace, {{meta::kConfigBaseFile, header.string()}});
    const RunResult r = run_tlsheap({"advise", trace.string(), "--verify"});
    expect_one_line_error(r, 2, "built from config " + header.string());
    EXPECT_NE(r.err.find("--config"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("tlsheap-hostile-marker"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("building"), std::string::npos) << "compiled: " << r.err;
    EXPECT_EQ(r.err.find("verifying"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(HostileFiles, AdviseVerifyCompilesNoTreeTheTraceNames) {
    const fs::path dir = scratch_dir("hostile-tree");
    // Their tree: what it would compile is theirs (a path to tlsheap's own
    // fetched tree would be fine).
    const fs::path tree = dir / "their-mbedtls";
    fs::create_directories(tree / "include" / "mbedtls");
    fs::create_directories(tree / "library");
    std::ofstream(tree / "library" / "theirs.c") << "#error tlsheap-hostile-marker\n";
    const fs::path trace = dir / "theirs.trace";
    rewrite_meta(rsa_trace(), trace, {{meta::kMbedtlsTree, tree.string()}});
    const RunResult r = run_tlsheap({"advise", trace.string(), "--verify"});
    expect_one_line_error(r, 2, "recorded with the mbedTLS tree " + tree.string());
    EXPECT_NE(r.err.find("--mbedtls"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("building"), std::string::npos) << "compiled: " << r.err;
}

TEST_F(HostileFiles, AdviseVerifyIncludesNoFileTheTraceDeltasName) {
    const fs::path dir = scratch_dir("hostile-deltas");
    const fs::path trace = dir / "theirs.trace";
    rewrite_meta(rsa_trace(), trace,
                 {{meta::kConfigDeltas, "--set MBEDTLS_USER_CONFIG_FILE=\"/etc/hostname\""}});
    const RunResult r = run_tlsheap({"advise", trace.string(), "--verify"});
    expect_one_line_error(r, 2, "sets MBEDTLS_USER_CONFIG_FILE, which names a file");
    EXPECT_EQ(r.err.find("building"), std::string::npos) << "compiled: " << r.err;
}

TEST_F(HostileFiles, AdviseVerifyRunsNoScenarioFileTheTraceNames) {
    const fs::path dir = scratch_dir("hostile-trace-scenario");
    const fs::path scenario =
        scenario_file(dir, "theirs", [](nlohmann::json& j) { j["name"] = "theirs"; });
    const fs::path trace = dir / "theirs.trace";
    rewrite_meta(rsa_trace(), trace, {{meta::kScenarioName, scenario.string()}});
    const RunResult r = run_tlsheap({"advise", trace.string(), "--verify"});
    expect_one_line_error(r, 2, "is not a plain name");
    EXPECT_EQ(r.err.find("recording"), std::string::npos) << r.err;
}

TEST_F(HostileFiles, AdviseVerifyRefusesAConfigThatIsNotTheRecordedOne) {
    // --verify measures each proposal on the base config and sets it against
    // the trace's figures: a base that is not the recorded config would
    // compare two different handshakes. The RSA trace was recorded with the
    // tree's default config.
    const fs::path dir = scratch_dir("hostile-other-config");
    const fs::path other =
        default_config_with(dir / "other_config.h", "#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096\n");
    const RunResult r =
        run_tlsheap({"advise", rsa_trace().string(), "--verify", "--config", other.string()});
    expect_one_line_error(r, 2,
                          "--config " + other.string() +
                              " is not the config the trace was recorded with: 1 macro "
                              "differs, MBEDTLS_SSL_OUT_CONTENT_LEN (undefined in the trace, "
                              "4096 here)");
    EXPECT_EQ(r.err.find("building"), std::string::npos) << "compiled: " << r.err;
    EXPECT_EQ(r.err.find("verifying"), std::string::npos) << r.err;
}

TEST_F(HostileFiles, SetValueWithANewlineIsRefused) {
    for (const std::string& value :
         {std::string("MBEDTLS_SSL_IN_CONTENT_LEN=4096\n#include \"/etc/hostname\""),
          std::string("MBEDTLS_SSL_IN_CONTENT_LEN=4096\\")}) {
        const RunResult r = run_tlsheap({"profile", "--set", value});
        expect_one_line_error(r, 2, "--set MBEDTLS_SSL_IN_CONTENT_LEN=4096");
        EXPECT_EQ(r.err.find("building"), std::string::npos) << "compiled: " << r.err;
    }
    expect_one_line_error(run_tlsheap({"profile", "--unset", "X\n#include <a>"}), 2,
                          "not a macro name");
}

TEST_F(HostileFiles, ScenarioNameThatIsAPathIsRefused) {
    const fs::path dir = scratch_dir("hostile-scenario-name");
    const fs::path escaped = test_cache() / "traces" / ".." / ".." / "hostile-escaped";
    const fs::path file = scenario_file(
        dir, "escape", [&](nlohmann::json& j) { j["name"] = "../../hostile-escaped/x"; });
    const RunResult r = run_tlsheap({"profile", "--scenario", file.string()});
    expect_one_line_error(r, 2, "name '../../hostile-escaped/x' is not a plain name");
    EXPECT_FALSE(fs::exists(escaped));
}

TEST_F(HostileFiles, ConfigThatIsNotARegularFileIsRefusedUnread) {
    const fs::path dir = scratch_dir("hostile-config");
    const fs::path big = dir / "big_config.h";
    std::ofstream(big).close();
    fs::resize_file(big, (1u << 20) + 1);
    // /dev/zero would be read for ever: a bounded run shows it is not.
    expect_one_line_error(run_tlsheap({"profile", "--config", "/dev/zero"}, test_cache(), 60), 2,
                          "config file /dev/zero is not a regular file");
    expect_one_line_error(run_tlsheap({"profile", "--config", dir.string()}), 2,
                          "config file " + dir.string() + " is a directory");
    expect_one_line_error(run_tlsheap({"profile", "--config", big.string()}), 2,
                          "config file " + big.string() + " is larger than 1 MiB");
    expect_one_line_error(
        run_tlsheap({"advise", rsa_trace().string(), "--verify", "--config", "/dev/zero"},
                    test_cache(), 60),
        2, "config file /dev/zero is not a regular file");
}

TEST_F(HostileFiles, ScenarioCredentialThatIsNotARegularFileIsRefused) {
    const fs::path dir = scratch_dir("hostile-credential");
    const fs::path file = scenario_file(dir, "zero", [](nlohmann::json& j) {
        j["name"] = "zero";
        j["authentication"] = {{"mode", "certificate"},
                               {"ca", "/dev/zero"},
                               {"server_chain", "/dev/zero"},
                               {"server_key", "/dev/zero"}};
    });
    expect_one_line_error(run_tlsheap({"profile", "--scenario", file.string()}, test_cache(), 60),
                          2, "ca file /dev/zero is not a regular file");
}

TEST_F(HostileFiles, HugeResponseIsRefused) {
    const fs::path dir = scratch_dir("hostile-response");
    const fs::path file = scenario_file(dir, "huge", [](nlohmann::json& j) {
        j["name"] = "huge";
        j["exchange"] = {{"response_bytes", 1000000000000ull}};
    });
    expect_one_line_error(
        run_tlsheap({"profile", "--scenario", file.string(), "--peer", "openssl"}), 2,
        "response_bytes from 0 to 16777216");
}

// --- files and locks ---------------------------------------------------------

TEST_F(HostileFiles, TraceOverASymlinkOrAFifoIsRefused) {
    const fs::path dir = scratch_dir("hostile-trace-target");
    const fs::path target = dir / "precious";
    std::ofstream(target) << "keep me";
    fs::create_symlink(target, dir / "link.trace");
    ASSERT_EQ(::mkfifo((dir / "fifo.trace").c_str(), 0600), 0);
    expect_one_line_error(run_tlsheap({"profile", "--trace", (dir / "link.trace").string()}), 2,
                          (dir / "link.trace").string() + " is a symbolic link");
    expect_one_line_error(run_tlsheap({"profile", "--trace", (dir / "fifo.trace").string()}), 2,
                          (dir / "fifo.trace").string() + " is not a regular file");
    EXPECT_TRUE(fs::is_symlink(dir / "link.trace"));
    EXPECT_TRUE(fs::is_fifo(dir / "fifo.trace"));
    std::ifstream in(target);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "keep me");
}

TEST_F(HostileFiles, ScratchDirectoriesOfStoppedRunsAreRemoved) {
    const fs::path runs = test_cache() / "runs";
    fs::create_directories(runs);
    // Before the locks: the pid in the name is gone (above any pid_max).
    const fs::path legacy = runs / "hostile-host-999999999-1";
    // Its run stopped: the lock beside it is free.
    const fs::path stopped = runs / "hostile-host-1-2";
    // Its run lives: this test holds the lock.
    const fs::path alive = runs / "hostile-host-1-3";
    for (const fs::path& d : {legacy, stopped, alive}) {
        fs::create_directories(d);
        std::ofstream(d / "trace.raw") << "x";
    }
    std::ofstream(stopped.string() + ".lock").close();
    const build::FileLock held(alive.string() + ".lock");
    const RunResult r = run_tlsheap({"profile", "--quiet"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_FALSE(fs::exists(legacy));
    EXPECT_FALSE(fs::exists(stopped));
    EXPECT_FALSE(fs::exists(stopped.string() + ".lock"));
    EXPECT_TRUE(fs::exists(alive / "trace.raw"));
    fs::remove_all(alive);
    fs::remove(alive.string() + ".lock");
}

TEST_F(HostileFiles, WaitingForAHeldTraceLockNamesTheHolderAndGivesUp) {
    const fs::path dir = scratch_dir("hostile-lock");
    const RunResult first = run_tlsheap({"profile", "--json", (dir / "p.json").string()});
    ASSERT_EQ(first.status, 0) << first.err;
    const std::string trace = read_json(dir / "p.json")["run"]["trace"];
    // A holder that stopped (kill -STOP, a suspended job) holds it for ever.
    build::FileLock held(trace + ".lock");
    held.record_holder();
    const RunResult r = run_tlsheap_with_env({"profile"}, {{"TLSHEAP_LOCK_TIMEOUT", "3"}});
    const std::string holder = "held by pid " + std::to_string(::getpid());
    expect_one_line_error(r, 1, "gave up after 3 s waiting for " + trace + ".lock, " + holder);
    EXPECT_NE(r.err.find("tlsheap: waiting for " + trace + ".lock, " + holder), std::string::npos)
        << r.err;
}

} // namespace
} // namespace tlsheap::testing
