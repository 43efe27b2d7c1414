// A device heap of fixed size end to end (issue 10): real recordings of the
// default scenario against the deterministic mbedTLS peer, replayed by
// `tlsheap profile --heap`. Each model fits in its own min pool for the
// recording (what `minpool` finds, by replay) and fails one alignment step
// below it, with figures that explain the failure; reconnects give one cycle
// row each and leak nothing.
#include "tlsheap_harness.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class DeviceHeap : public ::testing::Test {
  protected:
    void TearDown() override { expect_nothing_left_running(); }
};

// `profile` with `args` and --json; the document and the terminal output.
struct Profile {
    RunResult run;
    json document;
};

Profile profile(const std::string& name, std::vector<std::string> args, int status) {
    const fs::path file = scratch_dir("heap-" + name) / "p.json";
    args.insert(args.begin(), {"profile", "--quiet", "--json", file.string()});
    Profile p;
    p.run = run_tlsheap(args);
    EXPECT_EQ(p.run.status, status) << name << ": " << p.run.err;
    if (fs::exists(file)) {
        p.document = read_json(file);
    }
    return p;
}

const json& heap_of(const Profile& p) {
    static const json none;
    if (!p.document.contains("models") || p.document["models"].empty() ||
        !p.document["models"][0].contains("heap")) {
        ADD_FAILURE() << "no heap verdict in the document";
        return none;
    }
    return p.document["models"][0]["heap"];
}

// The step between heap sizes that can behave differently, per model
// (AllocatorModel::pool_granularity: portBYTE_ALIGNMENT, word-aligned
// regions, umm's 8-byte blocks, gcd(header 32, align 4)).
struct ModelStep {
    const char* model;
    std::uint64_t step;
};

TEST_F(DeviceHeap, ThreeConnectionsFitTheMinPoolAndFailOneStepBelow) {
    const std::vector<ModelStep> models = {
        {"freertos-heap4", 8}, {"esp-tlsf", 4}, {"umm", 8}, {"mbedtls-pool", 4}};
    std::vector<std::string> args = {"--connections", "3"};
    for (const ModelStep& m : models) {
        args.insert(args.end(), {"--model", m.model});
    }
    // The recording's min pool per model, searched by replay.
    const Profile unbounded = profile("three", args, 0);
    ASSERT_EQ(unbounded.document["models"].size(), models.size());
    for (std::size_t i = 0; i < models.size(); ++i) {
        const ModelStep& m = models[i];
        SCOPED_TRACE(m.model);
        const json& run = unbounded.document["models"][i];
        ASSERT_EQ(run["name"], m.model);
        ASSERT_TRUE(run["min_pool"].is_number());
        const std::uint64_t min_pool = run["min_pool"].get<std::uint64_t>();

        const Profile fits = profile(
            std::string("fits-") + m.model,
            {"--connections", "3", "--heap", std::to_string(min_pool), "--model", m.model}, 0);
        const json& ok = heap_of(fits);
        EXPECT_EQ(ok["heap_size"], min_pool);
        EXPECT_TRUE(ok["fits"].get<bool>());
        EXPECT_TRUE(ok["first_failure"].is_null());
        // At one moment, no free block is larger than all the free bytes.
        const json& small = ok["smallest_largest_free_block"];
        EXPECT_LE(small["largest_free_block"].get<std::uint64_t>(),
                  small["free_bytes"].get<std::uint64_t>());
        EXPECT_NE(fits.run.out.find("fits: headroom"), std::string::npos) << fits.run.out;

        const std::uint64_t below = min_pool - m.step;
        const Profile fails =
            profile(std::string("fails-") + m.model,
                    {"--connections", "3", "--heap", std::to_string(below), "--model", m.model}, 1);
        const json& bad = heap_of(fails);
        ASSERT_FALSE(bad["fits"].get<bool>());
        const json& f = bad["first_failure"];
        const std::uint64_t size = f["size"].get<std::uint64_t>();
        const std::uint64_t free_bytes = f["free_bytes"].get<std::uint64_t>();
        const std::uint64_t largest = f["largest_request"].get<std::uint64_t>();
        // The figures explain the NULL: too few bytes, or no block large enough.
        EXPECT_LT(largest, size);
        EXPECT_EQ(bad["fragmentation"].get<bool>(), free_bytes >= size);
        // A connection's handshake, as three connections share the heap.
        EXPECT_GE(f["connection"].get<std::uint32_t>(), 1u);
        EXPECT_NE(fails.run.out.find("fails at allocation #"), std::string::npos) << fails.run.out;
    }
}

// The issue's figure: 100 reconnects against the deterministic peer.
TEST_F(DeviceHeap, AHundredReconnectsGiveAHundredCyclesThatLeakNothing) {
    const Profile p = profile(
        "reconnects", {"--reconnects", "100", "--heap", "60000", "--model", "freertos-heap4"}, 0);
    const json& cycles = p.document["cycles"];
    ASSERT_EQ(cycles.size(), 100u);
    const std::uint64_t first_end = cycles[0]["live_at_end"].get<std::uint64_t>();
    for (std::size_t i = 0; i < cycles.size(); ++i) {
        EXPECT_EQ(cycles[i]["cycle"], i + 1);
        EXPECT_EQ(cycles[i]["connections"], 1);
        EXPECT_EQ(cycles[i]["first_connection"], i + 1);
        EXPECT_EQ(cycles[i]["leaked"], 0) << "cycle " << i + 1;
        // No drift: what stays after each cycle is the shared part alone.
        EXPECT_EQ(cycles[i]["live_at_end"], first_end) << "cycle " << i + 1;
        EXPECT_EQ(cycles[i]["models"][0]["heap"]["free_bytes"],
                  cycles[0]["models"][0]["heap"]["free_bytes"])
            << "cycle " << i + 1;
    }
    EXPECT_GT(first_end, 0u); // config, CA chain, own key, DRBG, PSA
    EXPECT_NE(p.run.out.find("Cycles          100 cycles"), std::string::npos) << p.run.out;
}

TEST_F(DeviceHeap, AHeapSmallerThanTheFirstAllocationIsAVerdict) {
    const Profile p = profile("tiny", {"--heap", "100", "--model", "freertos-heap4"}, 1);
    const json& v = heap_of(p);
    ASSERT_FALSE(v["fits"].get<bool>());
    EXPECT_EQ(v["first_failure"]["allocation"], 1);
    EXPECT_NE(p.run.out.find("fails at allocation #1 "), std::string::npos) << p.run.out;
}

TEST_F(DeviceHeap, AbsurdHeapSizesAreRefusedInOneLine) {
    const std::string trace =
        (fs::path(TLSHEAP_SOURCE_DIR) / "traces" / "tls12-ecdhe-ecdsa-p256.trace").string();
    for (const std::string bad : {"0", "-1", "abc", "1099511627777", "4k"}) {
        for (const std::vector<std::string>& args :
             {std::vector<std::string>{"profile", "--heap=" + bad},
              std::vector<std::string>{"replay", trace, "--heap=" + bad},
              std::vector<std::string>{"replay", trace, "--pool=" + bad}}) {
            const RunResult r = run_tlsheap(args);
            EXPECT_EQ(r.status, 2) << args[0] << " " << bad << ": " << r.err;
            const auto lines = r.error_lines();
            ASSERT_EQ(lines.size(), 1u) << r.err;
            EXPECT_NE(lines.front().find("--heap"), std::string::npos) << lines.front();
        }
    }
}

} // namespace
} // namespace tlsheap::testing
