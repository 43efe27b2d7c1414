// Buffer schemes on real recordings: the ordering ESP-IDF publishes for its
// https_request example (default > MBEDTLS_SSL_KEEP_PEER_CERTIFICATE off >
// dynamic TX/RX buffers with the config data and CA chain freed), the
// compare view, and the refusals.
#include "tlsheap_harness.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class BufferSchemes : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new fs::path(scratch_dir("buffer-schemes"));
        const std::vector<std::string> esp_like = {"profile",
                                                   "--scenario",
                                                   "tls12-esp-https-request",
                                                   "--set",
                                                   "MBEDTLS_SSL_OUT_CONTENT_LEN=4096",
                                                   "--unset",
                                                   "MBEDTLS_SSL_PROTO_TLS1_3"};
        auto with = [&](std::vector<std::string> extra, const std::string& trace) {
            auto a = esp_like;
            a.insert(a.end(), extra.begin(), extra.end());
            a.insert(a.end(), {"--trace", (*dir_ / trace).string()});
            return a;
        };
        const RunResult a = run_tlsheap(with({}, "default.trace"));
        ASSERT_EQ(a.status, 0) << a.err;
        const RunResult b = run_tlsheap(
            with({"--unset", "MBEDTLS_SSL_KEEP_PEER_CERTIFICATE"}, "no-peer-cert.trace"));
        ASSERT_EQ(b.status, 0) << b.err;
    }
    static void TearDownTestSuite() { delete dir_; }

    // The replay's live peak and ESP-IDF heap (TLSF) peak in use.
    static std::pair<std::uint64_t, std::uint64_t> peaks(const std::string& trace,
                                                         const std::string& transform) {
        const fs::path out = *dir_ / (std::to_string(++counter_) + ".json");
        std::vector<std::string> args = {
            "replay", (*dir_ / trace).string(), "--model", "esp-tlsf", "--json", out.string()};
        if (!transform.empty()) {
            args.insert(args.end(), {"--transform", transform});
        }
        const RunResult r = run_tlsheap(args);
        EXPECT_EQ(r.status, 0) << r.err;
        const json j = read_json(out);
        return {j["live_peak"]["bytes"], j["models"][0]["used_peak"]};
    }
    static fs::path* dir_;
    static int counter_;
};
fs::path* BufferSchemes::dir_ = nullptr;
int BufferSchemes::counter_ = 0;

TEST_F(BufferSchemes, OrderingEspIdfPublishes) {
    const auto recorded = peaks("default.trace", "");
    const auto no_peer_cert = peaks("no-peer-cert.trace", "");
    const auto dynamic = peaks("default.trace", "esp-dynamic:free_ca_cert=on,free_config_data=on");
    // ESP-IDF: 42196 > 38533 > 22013 bytes.
    EXPECT_GT(recorded.first, no_peer_cert.first);
    EXPECT_GT(no_peer_cert.first, dynamic.first);
    EXPECT_GT(recorded.second, no_peer_cert.second);
    EXPECT_GT(no_peer_cert.second, dynamic.second);
    // Dynamic buffers take the two static record buffers (16 KiB in, 4 KiB out,
    // plus overheads) out of the peak; what replaces them is sized per record.
    EXPECT_GT(recorded.first - dynamic.first, 15000u);
}

TEST_F(BufferSchemes, CompareShowsEverySchemeOnEveryAllocator) {
    const fs::path out = *dir_ / "compare.json";
    const RunResult r =
        run_tlsheap({"compare", (*dir_ / "default.trace").string(), "--json", out.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const json j = read_json(out);
    EXPECT_EQ(j["schema_version"], 1);
    ASSERT_EQ(j["rows"].size(), 6u);
    std::vector<std::string> schemes;
    for (const json& row : j["rows"]) {
        schemes.push_back(row["scheme"]);
        EXPECT_TRUE(row["error"].is_null()) << row["error"];
        ASSERT_EQ(row["models"].size(), 5u);
        for (const json& m : row["models"]) {
            // No allocator beats the live peak of its scheme, and the min pool is checked to run.
            if (m["name"] != "ideal") {
                EXPECT_GT(m["footprint"].get<std::uint64_t>(),
                          row["live_peak"].get<std::uint64_t>());
            }
            EXPECT_GE(m["min_pool"].get<std::uint64_t>(), row["live_peak"].get<std::uint64_t>());
        }
    }
    EXPECT_EQ(schemes.front(), "recorded");
    // axTLS-style growth keeps the small buffer for this exchange (no record > 6864 - 1024 - 5).
    const json& recorded = j["rows"][0];
    const json& axtls = j["rows"][4];
    EXPECT_LT(axtls["live_peak"].get<std::uint64_t>(), recorded["live_peak"].get<std::uint64_t>());
    EXPECT_NE(r.out.find("esp-dynamic:static_rx=on"), std::string::npos);
}

TEST_F(BufferSchemes, EspDynamicRefusesServerSideRecordingsInOneLine) {
    const fs::path trace = *dir_ / "server.trace";
    const RunResult rec = run_tlsheap({"profile", "--scenario", "tls12-psk-aes128-ccm", "--side",
                                       "server", "--trace", trace.string()});
    ASSERT_EQ(rec.status, 0) << rec.err;
    const RunResult r = run_tlsheap({"replay", trace.string(), "--transform", "esp-dynamic"});
    EXPECT_EQ(r.status, 2);
    ASSERT_FALSE(r.error_lines().empty());
    EXPECT_NE(r.error_lines().front().find("server"), std::string::npos) << r.error_lines().front();
}

TEST_F(BufferSchemes, UnknownTransformOrOptionInOneLine) {
    const std::string t = (*dir_ / "default.trace").string();
    RunResult r = run_tlsheap({"replay", t, "--transform", "mbedtls-tiny-buffers"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("mbedtls-tiny-buffers"), std::string::npos) << r.err;
    r = run_tlsheap({"replay", t, "--transform", "axtls-growth:initial=lots"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("initial"), std::string::npos) << r.err;
}

} // namespace
} // namespace tlsheap::testing
