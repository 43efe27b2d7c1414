// tlsheap advise on a freshly recorded handshake: what it proposes must be
// what the handshake needed, its exact predictions must equal what a rebuilt
// variant measures, and "smallest" must mean smallest: one byte less breaks
// the handshake, and that is reported as a break.
#include "tlsheap_harness.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class AdviseEndToEnd : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = scratch_dir("advise");
        trace_ = (dir_ / "rsa-chain.trace").string();
        const RunResult r = run_tlsheap(
            {"profile", "--quiet", "--scenario", "tls12-ecdhe-rsa-chain", "--trace", trace_});
        ASSERT_EQ(r.status, 0) << r.err;
    }
    void TearDown() override { expect_nothing_left_running(); }
    static json advise(const std::string& name, std::vector<std::string> extra, int expected_status,
                       RunResult* run = nullptr) {
        const fs::path out = dir_ / (name + ".json");
        std::vector<std::string> args = {"advise", trace_, "--quiet", "--json", out.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        const RunResult r = run_tlsheap(args);
        EXPECT_EQ(r.status, expected_status) << r.out << r.err;
        if (run != nullptr) {
            *run = r;
        }
        return fs::exists(out) ? read_json(out) : json();
    }
    static const json* proposal_setting(const json& doc, const std::string& change) {
        for (const json& p : doc["proposals"]) {
            if (p["changes"].size() == 1 && p["changes"][0] == change) {
                return &p;
            }
        }
        return nullptr;
    }

    static inline fs::path dir_;
    static inline std::string trace_;
};

TEST_F(AdviseEndToEnd, ReadsWhatTheHandshakeNeededFromTheTrace) {
    const json doc = advise("plain", {}, 0);
    ASSERT_EQ(doc["kind"], "tlsheap.advise");
    const json& needs = doc["needs"];
    // The recorder's own default-config buffers: 16 KiB each way.
    EXPECT_EQ(needs["buffers"]["in_content_len"], 16384);
    EXPECT_EQ(needs["buffers"]["out_content_len"], 16384);
    // The RSA chain the mbedTLS peer serves: leaf and intermediate.
    ASSERT_FALSE(needs["chains"].empty());
    const json& peer_chain = needs["chains"][0];
    EXPECT_EQ(peer_chain["owner"], "peer");
    ASSERT_EQ(peer_chain["der"].size(), 2u);
    // The record buffers are alive at the peak, 16 KiB + overhead each.
    std::uint64_t in_buf = 0;
    for (const json& share : needs["alive_at_peak"]) {
        if (share["what"] == "record buffer (in_buf)") {
            in_buf = share["bytes"];
        }
    }
    EXPECT_EQ(in_buf, needs["buffers"]["in_buffer_len"].get<std::uint64_t>());
    EXPECT_GT(in_buf, 16384u);

    // The largest received handshake message is the Certificate message:
    // a 4-byte handshake header, a 3-byte list length and each certificate's
    // DER behind its own 3-byte length (RFC 5246 section 7.4.2). It sets
    // the smallest IN_CONTENT_LEN.
    const std::uint64_t largest = needs["received"]["largest_handshake"];
    EXPECT_EQ(needs["received"]["largest_handshake_what"], "Certificate");
    EXPECT_EQ(largest, 4 + 3 + (3 + peer_chain["der"][0].get<std::uint64_t>()) +
                           (3 + peer_chain["der"][1].get<std::uint64_t>()));
    const json* in =
        proposal_setting(doc, "--set MBEDTLS_SSL_IN_CONTENT_LEN=" + std::to_string(largest));
    ASSERT_NE(in, nullptr) << doc["proposals"].dump(1);
    // Only the buffer changes size: the prediction saves exactly the difference.
    EXPECT_EQ(doc["now"]["live_peak"].get<std::uint64_t>() -
                  (*in)["predicted"]["live_peak"].get<std::uint64_t>(),
              16384 - largest);
    EXPECT_TRUE((*in)["verification"].is_null());
}

TEST_F(AdviseEndToEnd, VerifyMeasuresTheExactPredictionAndOneByteLessBreaks) {
    const json plain = advise("before-verify", {}, 0);
    const std::uint64_t largest = plain["needs"]["received"]["largest_handshake"];
    const json* in =
        proposal_setting(plain, "--set MBEDTLS_SSL_IN_CONTENT_LEN=" + std::to_string(largest));
    ASSERT_NE(in, nullptr);
    const std::string id = std::to_string((*in)["id"].get<int>());
    const std::string too_small = "MBEDTLS_SSL_IN_CONTENT_LEN=" + std::to_string(largest - 1);

    RunResult run;
    const json doc = advise("verify", {"--verify", "--only", id, "--try-set", too_small}, 1, &run);
    ASSERT_TRUE(doc.is_object());
    const json& exact = doc["proposals"][std::stoul(id) - 1];
    ASSERT_EQ(exact["verification"]["status"], "ok") << exact.dump(1);
    EXPECT_EQ(exact["verification"]["measured"], exact["predicted"]);

    const json& mine = doc["proposals"].back();
    EXPECT_TRUE(mine["user"].get<bool>());
    EXPECT_FALSE(mine["predicted_break"].is_null()) << mine.dump(1);
    EXPECT_EQ(mine["verification"]["status"], "handshake_failed") << mine.dump(1);
    EXPECT_EQ(mine["verification"]["failed_state"], "SERVER_CERTIFICATE");
    // Proposals not asked for are not verified.
    for (const json& p : doc["proposals"]) {
        if (p["id"] != exact["id"] && p["id"] != mine["id"]) {
            EXPECT_TRUE(p["verification"].is_null()) << p["id"];
        }
    }
    // The verdict names the broken proposal in one line.
    const auto lines = run.error_lines();
    ASSERT_EQ(lines.size(), 1u) << run.err;
    EXPECT_NE(lines[0].find(mine["id"].dump() + " handshake_failed in SERVER_CERTIFICATE"),
              std::string::npos)
        << lines[0];
    EXPECT_NE(run.out.find("as predicted"), std::string::npos) << run.out;
}

// A lifecycle trace is verified with the same connections: two at once
// hold two record buffers each, so the measured peak equals the prediction
// only if the rebuilt variant also ran two.
TEST_F(AdviseEndToEnd, VerifyRunsTheConnectionsTheTraceRan) {
    const std::string two = (dir_ / "rsa-chain-two.trace").string();
    const RunResult recorded =
        run_tlsheap({"profile", "--quiet", "--scenario", "tls12-ecdhe-rsa-chain", "--connections",
                     "2", "--trace", two});
    ASSERT_EQ(recorded.status, 0) << recorded.err;
    const auto run_advise = [&](const std::string& name, std::vector<std::string> extra) {
        const fs::path out = dir_ / (name + ".json");
        std::vector<std::string> args = {"advise", two, "--quiet", "--json", out.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        const RunResult r = run_tlsheap(args);
        EXPECT_EQ(r.status, 0) << r.out << r.err;
        return fs::exists(out) ? read_json(out) : json();
    };
    const json plain = run_advise("two-plain", {});
    const std::uint64_t largest = plain["needs"]["received"]["largest_handshake"];
    const json* in =
        proposal_setting(plain, "--set MBEDTLS_SSL_IN_CONTENT_LEN=" + std::to_string(largest));
    ASSERT_NE(in, nullptr) << plain["proposals"].dump(1);
    const std::string id = std::to_string((*in)["id"].get<int>());
    const json doc = run_advise("two-verify", {"--verify", "--only", id});
    const json& p = doc["proposals"][std::stoul(id) - 1];
    ASSERT_EQ(p["verification"]["status"], "ok") << p.dump(1);
    EXPECT_EQ(p["verification"]["measured"], p["predicted"]);
    // Two connections' record buffers shrink: twice the single saving.
    EXPECT_EQ(plain["now"]["live_peak"].get<std::uint64_t>() -
                  p["predicted"]["live_peak"].get<std::uint64_t>(),
              2 * (16384 - largest));
}

TEST_F(AdviseEndToEnd, RefusesUnusableInputInOneLine) {
    std::ofstream(dir_ / "garbage.trace") << "not a trace at all";
    const std::string whole = [] {
        std::ifstream in(trace_, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    std::ofstream(dir_ / "truncated.trace", std::ios::binary) << whole.substr(0, whole.size() / 3);
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"advise", (dir_ / "missing.trace").string()}, "missing.trace"},
        {{"advise", (dir_ / "garbage.trace").string()}, "garbage.trace"},
        {{"advise", (dir_ / "truncated.trace").string()}, "truncated.trace"},
        {{"advise", trace_, "--verify", "--only", "42"}, "42"},
        {{"advise", trace_, "--try-set", "MBEDTLS_SSL_IN_CONTNET_LEN=4096"},
         "MBEDTLS_SSL_IN_CONTNET_LEN"},
    };
    for (const auto& [args, what] : cases) {
        const RunResult r = run_tlsheap(args);
        EXPECT_EQ(r.status, 2) << args[1] << "\n" << r.err;
        const auto lines = r.error_lines();
        ASSERT_EQ(lines.size(), 1u) << r.err;
        EXPECT_EQ(lines[0].rfind("tlsheap: error: ", 0), 0u) << lines[0];
        EXPECT_NE(lines[0].find(what), std::string::npos) << lines[0];
    }
}

} // namespace
} // namespace tlsheap::testing
