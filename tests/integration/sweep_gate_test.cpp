// Sweeps, shards, merge and the regression gate, end to end: real variants
// built from --vary axes and config files, real handshakes against the
// deterministic peer (and openssl s_server for --repeat). The figures are
// checked against rules worked out by hand: the record buffer grows byte for
// byte with MBEDTLS_SSL_IN_CONTENT_LEN, and a 1024-byte buffer cannot carry
// the RSA chain's 1,826-byte Certificate message.
#include "tlsheap_harness.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <set>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class SweepAndGate : public ::testing::Test {
  protected:
    void TearDown() override { expect_nothing_left_running(); }
};

// The grid every sweep test shares (so its two variants are built once):
// IN_CONTENT_LEN 4096 and 1024 × a PSK handshake and the RSA chain.
const std::vector<std::string> kGrid = {"sweep",
                                        "--vary",
                                        "MBEDTLS_SSL_IN_CONTENT_LEN=4096,1024",
                                        "--scenario",
                                        "tls12-ecdhe-rsa-chain",
                                        "--scenario",
                                        "tls12-psk-aes128-ccm",
                                        "--model",
                                        "mbedtls-pool",
                                        "-j",
                                        "2"};

std::vector<std::string> grid_with(std::vector<std::string> extra) {
    std::vector<std::string> args = kGrid;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

const json& cell(const json& sweep, const std::string& id) {
    for (const json& c : sweep["cells"]) {
        if (c["id"] == id) {
            return c;
        }
    }
    ADD_FAILURE() << "no cell " << id;
    static const json none;
    return none;
}

std::uint64_t live_peak(const json& c) {
    return c["profile"]["live_peak"]["bytes"].get<std::uint64_t>();
}

// id -> status and live peak: what a merge must reproduce.
std::map<std::string, std::string> outcome_by_cell(const json& sweep) {
    std::map<std::string, std::string> out;
    for (const json& c : sweep["cells"]) {
        out[c["id"]] = c["status"].get<std::string>() + " " + std::to_string(live_peak(c));
    }
    return out;
}

TEST_F(SweepAndGate, AFailingCellIsAResultAndShardsMergeIntoTheWholeGrid) {
    const fs::path dir = scratch_dir("sweep-grid");
    const RunResult r = run_tlsheap(grid_with({"--json", (dir / "all.json").string()}));
    ASSERT_EQ(r.status, 0) << r.err;
    const json all = read_json(dir / "all.json");
    ASSERT_EQ(all["cells"].size(), 4u);
    EXPECT_EQ(all["grid"]["configs"].size(), 2u);

    // c0 is IN_CONTENT_LEN 4096, c1 is 1024 (the order of the --vary values).
    const json& broken = cell(all, "c1/tls12-ecdhe-rsa-chain");
    EXPECT_EQ(broken["status"], "handshake_failed");
    EXPECT_EQ(broken["failed_state"], "SERVER_CERTIFICATE");
    const std::string error = broken["error"];
    EXPECT_NE(error.find("-0x7100"), std::string::npos) << error;
    EXPECT_NE(error.find("1826-byte record but MBEDTLS_SSL_IN_CONTENT_LEN is 1024"),
              std::string::npos)
        << error;
    for (const std::string id :
         {"c0/tls12-ecdhe-rsa-chain", "c0/tls12-psk-aes128-ccm", "c1/tls12-psk-aes128-ccm"}) {
        EXPECT_EQ(cell(all, id)["status"], "ok") << id;
    }
    // in_buf is IN_CONTENT_LEN plus a fixed overhead and alive at the peak.
    EXPECT_EQ(live_peak(cell(all, "c0/tls12-psk-aes128-ccm")) -
                  live_peak(cell(all, "c1/tls12-psk-aes128-ccm")),
              4096u - 1024u);

    // The matrix: one row per config, the failing cell named by its state.
    EXPECT_NE(r.out.find("--set MBEDTLS_SSL_IN_CONTENT_LEN=1024"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("FAIL SERVER_CERTIFICATE"), std::string::npos) << r.out;
    // Not a terminal: progress comes as plain lines, one per cell.
    EXPECT_EQ(r.err.find('\r'), std::string::npos);
    for (int i = 1; i <= 4; ++i) {
        EXPECT_NE(r.err.find("cell " + std::to_string(i) + "/4"), std::string::npos) << r.err;
    }

    // Two shards cover the grid without overlap; merged they are the grid.
    std::vector<std::string> shards;
    std::set<std::string> seen;
    for (const std::string shard : {"1/2", "2/2"}) {
        const fs::path out = dir / ("shard" + shard.substr(0, 1) + ".json");
        const RunResult s = run_tlsheap(grid_with({"--shard", shard, "--json", out.string()}));
        ASSERT_EQ(s.status, 0) << s.err;
        const json doc = read_json(out);
        EXPECT_EQ(doc["cells"].size(), 2u) << shard;
        EXPECT_EQ(doc["grid"]["shard"]["count"], 2);
        for (const json& c : doc["cells"]) {
            EXPECT_TRUE(seen.insert(c["id"]).second) << c["id"] << " in two shards";
        }
        shards.push_back(out.string());
    }
    const fs::path merged = dir / "merged.json";
    RunResult m = run_tlsheap({"merge", shards[1], shards[0], "--json", merged.string()});
    ASSERT_EQ(m.status, 0) << m.err;
    const json joined = read_json(merged);
    EXPECT_EQ(outcome_by_cell(joined), outcome_by_cell(all));
    EXPECT_EQ(joined["grid"], all["grid"]);
    std::vector<std::string> order_all, order_joined;
    for (const json& c : all["cells"]) {
        order_all.push_back(c["id"]);
    }
    for (const json& c : joined["cells"]) {
        order_joined.push_back(c["id"]);
    }
    EXPECT_EQ(order_joined, order_all);

    // A missing shard or one given twice is refused; --partial merges what there is.
    expect_one_line_error(run_tlsheap({"merge", shards[0]}), "2 of the grid's 4 cells");
    expect_one_line_error(run_tlsheap({"merge", shards[0], shards[0]}),
                          "is in more than one shard");
    m = run_tlsheap({"merge", shards[0], "--partial", "--json", (dir / "part.json").string()});
    EXPECT_EQ(m.status, 0) << m.err;
    expect_one_line_error(run_tlsheap({"merge", shards[0], (dir / "all.json").string()}),
                          "is in more than one shard");
}

TEST_F(SweepAndGate, RepeatedRunsAgainstOpensslKeepTheMedian) {
    const fs::path out = scratch_dir("sweep-repeat") / "sweep.json";
    const RunResult r =
        run_tlsheap({"sweep", "--peer", "openssl", "--repeat", "3", "--scenario",
                     "tls12-psk-aes128-ccm", "--model", "mbedtls-pool", "--json", out.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const json doc = read_json(out);
    EXPECT_EQ(doc["grid"]["repeat"], 3);
    ASSERT_EQ(doc["cells"].size(), 1u);
    const json& c = doc["cells"][0];
    ASSERT_EQ(c["status"], "ok");
    std::vector<std::uint64_t> peaks = c["repeats"]["live_peak"];
    ASSERT_EQ(peaks.size(), 3u);
    std::sort(peaks.begin(), peaks.end());
    EXPECT_EQ(live_peak(c), peaks[1]);
    std::vector<std::uint64_t> pools = c["repeats"]["mbedtls-pool.min_pool"];
    ASSERT_EQ(pools.size(), 3u);
    std::sort(pools.begin(), pools.end());
    EXPECT_EQ(c["profile"]["models"][0]["min_pool"], pools[1]);
}

// Two config files with the same name, as one file in a repository before
// and after a change: the gate compares them cell for cell.
fs::path config_file(const fs::path& dir, unsigned in_content_len) {
    fs::create_directories(dir);
    const fs::path file = dir / "board_config.h";
    fs::copy_file(test_cache() / "mbedtls/3.6/include/mbedtls/mbedtls_config.h", file,
                  fs::copy_options::overwrite_existing);
    std::ofstream(file, std::ios::app)
        << "#define MBEDTLS_SSL_IN_CONTENT_LEN " << in_content_len << "\n";
    return file;
}

TEST_F(SweepAndGate, GatePassesUnchangedAndCatchesAGrownRecordBuffer) {
    const fs::path dir = scratch_dir("gate-regression");
    const std::string before = config_file(dir / "before", 4096).string();
    const std::string after = config_file(dir / "after", 8192).string();
    const std::string baseline = (dir / "baseline.json").string();
    const std::vector<std::string> cell = {"--scenario", "tls12-psk-aes128-ccm", "--model",
                                           "mbedtls-pool"};
    auto gate = [&](const std::string& config, std::vector<std::string> extra) {
        std::vector<std::string> args = {"gate", "--baseline", baseline, "--config", config};
        args.insert(args.end(), cell.begin(), cell.end());
        args.insert(args.end(), extra.begin(), extra.end());
        return run_tlsheap(args);
    };

    RunResult r = gate(before, {"--update-baseline"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("updated (1 cells)"), std::string::npos) << r.out;
    const json stored = read_json(baseline);
    EXPECT_EQ(stored["kind"], "tlsheap.sweep");
    EXPECT_EQ(stored["grid"]["configs"][0]["label"], "board_config.h");
    // A baseline is committed: no path of this machine's cache in it.
    std::ifstream text_in(baseline);
    const std::string text((std::istreambuf_iterator<char>(text_in)),
                           std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find(test_cache().string()), std::string::npos);
    const json& run = stored["cells"][0]["profile"]["run"];
    EXPECT_EQ(run["trace"].get<std::string>().rfind("<cache>/traces/", 0), 0u) << run;

    r = gate(before, {"--json", (dir / "pass.json").string()});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find(": PASS"), std::string::npos) << r.out;
    EXPECT_EQ(read_json(dir / "pass.json")["verdict"], "pass");

    r = gate(after, {"--json", (dir / "fail.json").string()});
    ASSERT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.out.find(": REGRESSION"), std::string::npos) << r.out;
    const json verdict = read_json(dir / "fail.json");
    EXPECT_EQ(verdict["verdict"], "regression");
    bool live_peak_checked = false;
    for (const json& c : verdict["comparisons"]) {
        if (c["metric"] == "live_peak") {
            EXPECT_EQ(c["delta"], 8192 - 4096);
            EXPECT_TRUE(c["regressed"].get<bool>());
            live_peak_checked = true;
        }
    }
    EXPECT_TRUE(live_peak_checked);
    // The grown buffer is in_buf, allocated by mbedtls_ssl_setup.
    ASSERT_FALSE(verdict["growths"].empty());
    EXPECT_EQ(verdict["growths"][0]["delta"], 8192 - 4096);
    EXPECT_NE(verdict["growths"][0]["call_site"].get<std::string>().find("mbedtls_ssl_setup"),
              std::string::npos)
        << verdict["growths"][0];
    EXPECT_NE(r.out.find("biggest growths by call site"), std::string::npos) << r.out;

    // Thresholds: the growth is 4,096 B, about 15% of the PSK handshake's peak.
    EXPECT_EQ(gate(after, {"--max-increase", "4096"}).status, 0);
    EXPECT_EQ(gate(after, {"--max-increase", "4095"}).status, 1);
    EXPECT_EQ(gate(after, {"--max-increase", "25%"}).status, 0);
    EXPECT_EQ(gate(after, {"--max-increase", "2%"}).status, 1);
    // Per metric: only the live peak held to zero fails.
    r = gate(after, {"--max-increase", "50%", "--max-increase", "live_peak=0", "--json",
                     (dir / "per-metric.json").string()});
    EXPECT_EQ(r.status, 1) << r.out;
    const json per_metric = read_json(dir / "per-metric.json");
    for (const json& c : per_metric["comparisons"]) {
        EXPECT_EQ(c["regressed"].get<bool>(), c["metric"] == "live_peak") << c;
    }

    // The same verdict from a document made beforehand (a CI artifact).
    const std::string current = (dir / "current.json").string();
    std::vector<std::string> sweep = {"sweep", "--quiet", "--config", after, "--json", current};
    sweep.insert(sweep.end(), cell.begin(), cell.end());
    ASSERT_EQ(run_tlsheap(sweep).status, 0);
    EXPECT_EQ(run_tlsheap({"gate", "--baseline", baseline, "--current", current}).status, 1);
}

// --heap on sweep and gate: the grid says the heap, every cell's models carry
// their verdict, and the gate holds the headroom. A baseline sweep is
// re-measured on its own heap; a smaller heap leaves less headroom, which
// the gate calls a regression.
TEST_F(SweepAndGate, GateHoldsTheHeadroomOnTheBaselinesHeap) {
    const fs::path dir = scratch_dir("gate-heap");
    const std::string baseline = (dir / "baseline.json").string();
    const std::vector<std::string> what = {"--scenario", "tls12-psk-aes128-ccm", "--model",
                                           "freertos-heap4"};
    std::vector<std::string> update = {"gate",   "--baseline", baseline, "--update-baseline",
                                       "--heap", "60000"};
    update.insert(update.end(), what.begin(), what.end());
    ASSERT_EQ(run_tlsheap(update).status, 0);
    const json b = read_json(baseline);
    EXPECT_EQ(b["grid"]["heap"], 60000);
    const json& model = b["cells"][0]["profile"]["models"][0];
    ASSERT_TRUE(model.contains("heap")) << model.dump();
    EXPECT_TRUE(model["heap"]["fits"].get<bool>());
    const std::uint64_t lowest = model["heap"]["lowest_free"]["free_bytes"];
    EXPECT_GT(lowest, 1000u);

    // Re-measured on the baseline's heap: the same headroom.
    const std::string verdict = (dir / "verdict.json").string();
    RunResult r = run_tlsheap({"gate", "--baseline", baseline, "--json", verdict});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find(": PASS"), std::string::npos) << r.out;
    EXPECT_NE(read_json(verdict).dump().find("freertos-heap4.heap_lowest_free"), std::string::npos);
    // 1,000 bytes less heap: 1,000 bytes less headroom (heap_4 takes the
    // whole heap, aligned, as its region), a regression.
    r = run_tlsheap({"gate", "--baseline", baseline, "--heap", "59000", "--json", verdict});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("heap_lowest_free"), std::string::npos) << r.out;
    bool compared = false;
    const json shrunk = read_json(verdict);
    for (const json& c : shrunk["comparisons"]) {
        if (c["metric"] == "freertos-heap4.heap_lowest_free") {
            compared = true;
            EXPECT_EQ(c["baseline"], lowest);
            EXPECT_EQ(c["delta"], -1000);
            EXPECT_TRUE(c["regressed"].get<bool>());
        }
    }
    EXPECT_TRUE(compared);

    expect_one_line_error(
        run_tlsheap({"gate", "--baseline", baseline, "--current", baseline, "--heap", "1000"}),
        "--heap applies to the profiles the gate runs");
    expect_one_line_error(run_tlsheap({"sweep", "--heap", "0"}), "--heap");
}

TEST_F(SweepAndGate, GateRecreatesADefaultConfigBaselineAndRefusesUnusableInput) {
    const fs::path dir = scratch_dir("gate-bad-input");
    const std::string baseline = (dir / "baseline.json").string();
    ASSERT_EQ(run_tlsheap({"gate", "--baseline", baseline, "--update-baseline", "--scenario",
                           "tls12-psk-aes128-ccm", "--model", "mbedtls-pool"})
                  .status,
              0);
    // Without profile options the gate measures what the baseline measured.
    RunResult r = run_tlsheap({"gate", "--baseline", baseline});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find(": PASS"), std::string::npos) << r.out;

    json v2 = read_json(baseline);
    v2["schema_version"] = 2;
    std::ofstream(dir / "v2.json") << v2.dump();
    std::ofstream(dir / "truncated.json") << read_json(baseline).dump().substr(0, 200);
    const std::string v2_path = (dir / "v2.json").string();
    const std::string truncated = (dir / "truncated.json").string();
    const std::string missing = (dir / "missing.json").string();

    struct Case {
        std::vector<std::string> args;
        std::string what;
    };
    const std::vector<Case> cases = {
        {{"gate", "--baseline", v2_path}, "schema version 2"},
        {{"gate", "--baseline", truncated}, truncated},
        {{"gate", "--baseline", missing}, "does not exist"},
        {{"gate", "--baseline", baseline, "--scenario", "tls12-ecdhe-ecdsa-p256", "--model",
          "mbedtls-pool"},
         "cover different cells"},
        {{"gate", "--baseline", baseline, "--max-increase", "2x"}, "'2x'"},
        {{"gate", "--baseline", baseline, "--max-increase", "handshakes=1"}, "'handshakes'"},
        {{"sweep", "--vary", "MBEDTLS_SSL_IN_CONTENT_LEN"}, "MBEDTLS_SSL_IN_CONTENT_LEN"},
        {{"sweep", "--vary", "MBEDTLS_SSL_IN_CONTENT_LEN="}, "MBEDTLS_SSL_IN_CONTENT_LEN="},
        {{"sweep", "--vary", "=4096,1024"}, "=4096,1024"},
        {{"sweep", "--vary", "MBEDTLS_SSL_IN_CONTENT_LEN=4096,,1024"}, "4096,,1024"},
        {{"sweep", "--vary", "MBEDTLS_NOT_A_MACRO=on,off"}, "MBEDTLS_NOT_A_MACRO"},
        {{"gate", "--baseline", baseline, "--set", "MBEDTLS_SSL_IN_CONTNET_LEN=4096"},
         "MBEDTLS_SSL_IN_CONTNET_LEN"},
        {{"sweep", "--scenario", "tls14-quantum"}, "tls14-quantum"},
        {{"sweep", "--shard", "3/2"}, "3/2"},
        {{"sweep", "--shard", "half"}, "half"},
        {{"sweep", "--repeat", "0"}, "--repeat"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.args[0] + " " + c.args[1] + " " + c.args[2]);
        expect_one_line_error(run_tlsheap(c.args), c.what);
    }
}

} // namespace
} // namespace tlsheap::testing
