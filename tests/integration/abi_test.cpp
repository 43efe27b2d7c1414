// Target fidelity: the same scenario recorded on the host ABI, on 32-bit x86
// (-m32) and on 32-bit ARM (cross-compiled, run under qemu-user), and on
// mbedTLS 2.28 as well as 3.6.
#include "tlsheap/trace_info.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap_harness.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <set>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json profile_json(const std::string& name, std::vector<std::string> args,
                  RunResult* run = nullptr) {
    const fs::path dir = scratch_dir(name);
    args.insert(args.begin(), {"profile", "--json", (dir / "p.json").string(), "--trace",
                               (dir / "p.trace").string()});
    const RunResult r = run_tlsheap(args);
    if (run != nullptr) {
        *run = r;
    }
    EXPECT_EQ(r.status, 0) << r.err;
    return fs::exists(dir / "p.json") ? read_json(dir / "p.json") : json();
}

const json& model(const json& report, const std::string& name) {
    for (const json& m : report["models"]) {
        if (m["name"] == name) {
            return m;
        }
    }
    static const json none;
    return none;
}

// Call-site function of every allocation, in order.
std::vector<std::string> call_sites(const std::string& trace_path) {
    trace::TraceReader reader(trace_path);
    trace::TraceInfo info;
    trace::Record r;
    std::vector<std::string> sites;
    while (reader.next(r)) {
        if (!info.absorb(r) && r.tag == trace::Tag::Alloc) {
            const trace::CallSite site = info.call_site(r.stack);
            sites.push_back(site.file.rfind("library/", 0) == 0 ? site.function
                                                                : "UNRESOLVED " + site.label());
        }
    }
    return sites;
}

TEST(Abi, DefaultIsIlp32AndEveryReportSaysWhichAbi) {
    const json j = profile_json("abi-default", {"--scenario", "tls12-psk-aes128-ccm"});
    EXPECT_EQ(j["variant"]["abi"], "ilp32");
    EXPECT_EQ(j["variant"]["pointer_size"], 4);
    EXPECT_EQ(j["variant"]["arch"], "i386");
}

TEST(Abi, CallSitesOnEveryAbiAreAsGoodAsOnTheHost) {
    std::map<std::string, std::vector<std::string>> sites;
    for (const std::string abi : {"host", "ilp32", "arm"}) {
        const fs::path dir = scratch_dir("sites-" + abi);
        const RunResult r =
            run_tlsheap({"profile", "--abi", abi, "--trace", (dir / "t.trace").string()});
        ASSERT_EQ(r.status, 0) << abi << ": " << r.err;
        EXPECT_EQ(r.err.find("symbolized"), std::string::npos) << abi << ": " << r.err;
        sites[abi] = call_sites((dir / "t.trace").string());
        for (const std::string& s : sites[abi]) {
            ASSERT_EQ(s.rfind("UNRESOLVED", 0), std::string::npos) << abi << ": " << s;
        }
    }
    // Same code, same allocations, the same call site for each (static and
    // inlined functions included), whatever the architecture.
    EXPECT_EQ(sites["ilp32"], sites["host"]);
    EXPECT_EQ(sites["arm"], sites["host"]);
    const std::set<std::string> distinct(sites["arm"].begin(), sites["arm"].end());
    EXPECT_TRUE(distinct.count("x509_crt_parse_der_core")); // static in x509_crt.c
    EXPECT_TRUE(distinct.count("ssl_handshake_init"));      // static in ssl_tls.c
}

class ThirtyTwoBitAbisAgree : public ::testing::TestWithParam<std::string> {};

TEST_P(ThirtyTwoBitAbisAgree, WithinHalfAPercent) {
    const std::string scenario = GetParam();
    const json ilp32 =
        profile_json("agree-ilp32-" + scenario, {"--scenario", scenario, "--abi", "ilp32"});
    const json arm =
        profile_json("agree-arm-" + scenario, {"--scenario", scenario, "--abi", "arm"});
    ASSERT_FALSE(ilp32.is_null());
    ASSERT_FALSE(arm.is_null());
    EXPECT_EQ(arm["variant"]["arch"], "arm");
    EXPECT_EQ(ilp32["summary"]["allocations"], arm["summary"]["allocations"]);
    auto close = [](double a, double b) { return std::abs(a - b) <= 0.005 * std::max(a, b); };
    const double a = ilp32["live_peak"]["bytes"];
    const double b = arm["live_peak"]["bytes"];
    EXPECT_TRUE(close(a, b)) << "live peak ilp32 " << a << " arm " << b;
    const double fa = model(ilp32, "mbedtls-pool")["footprint"];
    const double fb = model(arm, "mbedtls-pool")["footprint"];
    EXPECT_TRUE(close(fa, fb)) << "mbedtls-pool footprint ilp32 " << fa << " arm " << fb;
}

INSTANTIATE_TEST_SUITE_P(CommittedScenarios, ThirtyTwoBitAbisAgree,
                         ::testing::Values("tls12-ecdhe-ecdsa-p256", "tls12-ecdhe-rsa-chain",
                                           "tls13-ecdsa-p256", "tls12-psk-aes128-ccm",
                                           "tls12-ecdhe-ecdsa-mutual"),
                         [](const auto& info) {
                             std::string n = info.param;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

TEST(Abi, SideBySideComparison) {
    RunResult run;
    const json j = profile_json(
        "abi-side-by-side",
        {"--scenario", "tls12-psk-aes128-ccm", "--abi", "host", "--abi", "ilp32", "--abi", "arm"},
        &run);
    ASSERT_EQ(j["kind"], "tlsheap.profile-abis");
    ASSERT_EQ(j["profiles"].size(), 3u);
    EXPECT_EQ(j["profiles"][0]["variant"]["pointer_size"], 8);
    EXPECT_EQ(j["profiles"][1]["variant"]["pointer_size"], 4);
    EXPECT_EQ(j["profiles"][2]["variant"]["arch"], "arm");
    // 8-byte pointers and size_t make the host's heap bigger than a 32-bit device's.
    EXPECT_GT(j["profiles"][0]["live_peak"]["bytes"].get<std::uint64_t>(),
              j["profiles"][1]["live_peak"]["bytes"].get<std::uint64_t>());
    EXPECT_NE(run.out.find("live peak (bytes)"), std::string::npos);
    EXPECT_NE(run.out.find("host"), std::string::npos);
}

TEST(Abi, UnknownAbiIsOneLine) {
    const RunResult r = run_tlsheap({"profile", "--abi", "riscv"});
    EXPECT_EQ(r.status, 2);
    ASSERT_FALSE(r.error_lines().empty());
    EXPECT_NE(r.error_lines().front().find("unknown ABI 'riscv' (host, ilp32, arm)"),
              std::string::npos)
        << r.error_lines().front();
}

TEST(Mbedtls228, RecordBuffersAsAUserOfThatSetupSeesThem) {
    // 2.28 with IN_CONTENT_LEN 16384 and OUT_CONTENT_LEN 2048: the library
    // adds 333 bytes of overhead to each (13 header + 16 IV + 48 MAC + 256
    // padding with CBC and SHA-384 enabled, as in its default config).
    const json j = profile_json("mbedtls228-buffers",
                                {"--mbedtls", "2.28", "--set", "MBEDTLS_SSL_OUT_CONTENT_LEN=2048"});
    ASSERT_EQ(j["record_buffers"].size(), 2u);
    EXPECT_EQ(j["record_buffers"][0]["role"], "in_buf");
    EXPECT_EQ(j["record_buffers"][0]["bytes"], 16717);
    EXPECT_EQ(j["record_buffers"][1]["role"], "out_buf");
    EXPECT_EQ(j["record_buffers"][1]["bytes"], 2381);
    EXPECT_EQ(j["variant"]["mbedtls_version"], "2.28.3");
    EXPECT_EQ(j["variant"]["abi"], "ilp32");
}

TEST(Mbedtls228, RunsOnArmToo) {
    const json j = profile_json("mbedtls228-arm", {"--mbedtls", "2.28", "--abi", "arm",
                                                   "--scenario", "tls12-psk-aes128-ccm"});
    EXPECT_EQ(j["variant"]["arch"], "arm");
    EXPECT_EQ(j["outcomes"][0]["text"], "TLSv1.2 TLS-PSK-WITH-AES-128-CCM");
}

} // namespace
} // namespace tlsheap::testing
