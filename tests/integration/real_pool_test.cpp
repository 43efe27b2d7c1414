// The replay models against mbedTLS's real memory_buffer_alloc: a variant
// built with MBEDTLS_MEMORY_BUFFER_ALLOC_C records on a real pool, and the
// mbedtls-pool model must give every allocation the same address, the same
// max_used/max_blocks statistics, and predict the smallest pool the real
// handshake runs in.
#include "tlsheap_harness.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class RealPool
    : public ::testing::TestWithParam<std::tuple<std::string, std::string, std::string>> {};

TEST_P(RealPool, ModelReproducesEveryAddressAndTheAllocatorsOwnStatistics) {
    const auto& [scenario, mbedtls, abi] = GetParam();
    const fs::path dir = scratch_dir("real-pool-" + scenario + "-" + mbedtls + "-" + abi);
    const RunResult r =
        run_tlsheap({"profile", "--scenario", scenario, "--mbedtls", mbedtls, "--abi", abi,
                     "--real-pool", "262144", "--json", (dir / "r.json").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const json j = read_json(dir / "r.json");
    expect_every_block_where_the_real_pool_put_it(j);
    const json pool = model_of(j, "mbedtls-pool");
    EXPECT_EQ(pool["statistics"]["max_used"], j["real_pool"]["max_used"]);
    EXPECT_EQ(pool["statistics"]["max_blocks"], j["real_pool"]["max_blocks"]);
    // 7 words + magic2: 32 bytes on a 32-bit ABI, 64 on x86-64.
    EXPECT_EQ(j["real_pool"]["header_size"], 8 * j["variant"]["pointer_size"].get<int>());
    EXPECT_EQ(j["variant"]["abi"], abi);
}

INSTANTIATE_TEST_SUITE_P(EveryScenario, RealPool,
                         ::testing::Values(std::tuple{"tls12-ecdhe-ecdsa-p256", "3.6", "ilp32"},
                                           std::tuple{"tls12-ecdhe-rsa-chain", "3.6", "ilp32"},
                                           std::tuple{"tls13-ecdsa-p256", "3.6", "ilp32"},
                                           std::tuple{"tls12-psk-aes128-ccm", "3.6", "ilp32"},
                                           std::tuple{"tls12-ecdhe-ecdsa-mutual", "3.6", "ilp32"},
                                           std::tuple{"tls12-ecdhe-ecdsa-p256", "2.28", "ilp32"},
                                           std::tuple{"tls12-ecdhe-ecdsa-p256", "3.6", "host"},
                                           std::tuple{"tls12-ecdhe-ecdsa-p256", "3.6", "arm"},
                                           std::tuple{"tls12-ecdhe-ecdsa-p256", "2.28", "arm"}),
                         [](const auto& info) {
                             std::string n = std::get<0>(info.param) + "_" +
                                             std::get<1>(info.param) + "_" +
                                             std::get<2>(info.param);
                             std::replace(n.begin(), n.end(), '-', '_');
                             std::replace(n.begin(), n.end(), '.', '_');
                             return n;
                         });

TEST(RealPoolMinimum, HandshakeRunsInThePredictedPoolAndFailsOneAlignmentBelow) {
    const fs::path dir = scratch_dir("real-pool-min");
    const std::string trace = (dir / "t.trace").string();
    RunResult r = run_tlsheap({"profile", "--real-pool", "262144", "--trace", trace});
    ASSERT_EQ(r.status, 0) << r.err;
    r = run_tlsheap(
        {"minpool", trace, "--model", "mbedtls-pool", "--json", (dir / "m.json").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const json m = read_json(dir / "m.json")["models"][0];
    const std::uint64_t predicted = m["min_pool"];
    EXPECT_EQ(m["granularity"], 4); // MBEDTLS_MEMORY_ALIGN_MULTIPLE
    ASSERT_TRUE(m["runs_at_min_pool"]);
    ASSERT_TRUE(m.contains("fails_below"));

    const RunResult fits = run_tlsheap({"profile", "--real-pool", std::to_string(predicted),
                                        "--json", (dir / "fits.json").string()});
    EXPECT_EQ(fits.status, 0) << "predicted " << predicted << ": " << fits.err;
    // In the smallest pool the real allocator hands the tail out whole, which
    // moves every later block: the model it is compared with runs in a pool
    // of the same size, and matches every allocation.
    const json fits_report = read_json(dir / "fits.json");
    for (const json& model : fits_report["models"]) {
        if (model["name"] != "mbedtls-pool") {
            continue;
        }
        const json& comparison = model["real_pool_comparison"];
        ASSERT_TRUE(comparison.is_object());
        EXPECT_EQ(comparison["pool_size"], predicted);
        EXPECT_EQ(comparison["mismatches"], 0) << comparison["first_mismatch"];
        const json& summary = fits_report["summary"];
        EXPECT_EQ(comparison["matches"], summary["allocations"].get<std::uint64_t>() -
                                             summary["zero_size_allocations"].get<std::uint64_t>());
    }
    const RunResult short_pool =
        run_tlsheap({"profile", "--real-pool", std::to_string(predicted - 4), "--json",
                     (dir / "short.json").string(), "--trace", (dir / "short.trace").string()});
    EXPECT_EQ(short_pool.status, 1)
        << "predicted " << predicted << " but " << predicted - 4 << " also runs";
    EXPECT_NE(short_pool.err.find("Memory allocation failed"), std::string::npos) << short_pool.err;
    // The failing allocation is the one minpool named.
    const json short_report = read_json(dir / "short.json");
    std::uint64_t first_null = 0;
    for (const json& f : short_report["findings"]) {
        if (f["kind"] == "failed_allocation") {
            first_null = f["at"]["seq"];
            break;
        }
    }
    EXPECT_EQ(first_null, m["fails_below"]["seq"].get<std::uint64_t>());
    // The run stopped at the failure: its min pools are bounds. The real pool
    // was too small, so mbedtls-pool needs more than it; the others at least
    // what the run up to the failure needed.
    for (const json& model : short_report["models"]) {
        if (model["name"] == "mbedtls-pool") {
            EXPECT_EQ(model["min_pool_bound"], "more_than");
            EXPECT_EQ(model["min_pool"], predicted - 4);
        } else {
            EXPECT_EQ(model["min_pool_bound"], "at_least") << model["name"];
        }
    }
    const std::string below = std::to_string(predicted - 4); // 5 digits: 47,092
    EXPECT_NE(short_pool.out.find("> " + below.substr(0, 2) + "," + below.substr(2)),
              std::string::npos)
        << short_pool.out;
    // minpool on the failed run's trace says its answers are lower bounds.
    const RunResult bounds = run_tlsheap({"minpool", (dir / "short.trace").string(), "--json",
                                          (dir / "short-minpool.json").string()});
    ASSERT_EQ(bounds.status, 0) << bounds.err;
    EXPECT_NE(bounds.out.find("the recording failed part-way"), std::string::npos) << bounds.out;
    EXPECT_TRUE(read_json(dir / "short-minpool.json")["recording_failed"].get<bool>());
    EXPECT_FALSE(read_json(dir / "m.json")["recording_failed"].get<bool>());
}

} // namespace
} // namespace tlsheap::testing
