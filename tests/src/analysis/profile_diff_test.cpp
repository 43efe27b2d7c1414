// tlsheap diff on hand-built documents whose differences were worked out by
// hand (fixtures/profile_a.json -> profile_b.json).
#include "../printed_text.h"
#include "analysis/profile_diff.h"
#include "document_fixtures.h"

#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>

namespace tlsheap::analysis {
namespace {

using nlohmann::json;

using testing::fixture;

const std::string kKey = "tls12-ecdhe-ecdsa-p256 | (default mbedtls_config.h) | ilp32";
const std::string kEcp = "ecp_mul_comb (library/ecp.c:2410)";
const std::string kMpi = "mbedtls_mpi_grow (library/bignum.c:90)";

struct Row {
    std::string name;
    std::optional<std::uint64_t> a;
    std::optional<std::uint64_t> b;
    std::int64_t delta;
};

void expect_rows(const std::vector<Change>& got, const std::vector<Row>& want,
                 const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[i].name, want[i].name) << what << " #" << i;
        EXPECT_EQ(got[i].a, want[i].a) << what << " " << want[i].name;
        EXPECT_EQ(got[i].b, want[i].b) << what << " " << want[i].name;
        EXPECT_EQ(got[i].delta, want[i].delta) << what << " " << want[i].name;
    }
}

TEST(ProfileDiff, ReportsWhatGrewAndShrankBiggestFirst) {
    const ProfileDiff d = diff_profiles(fixture("profile_a.json"), fixture("profile_b.json"));
    EXPECT_EQ(d.a_kind, "tlsheap.profile");
    ASSERT_EQ(d.cells.size(), 1u);
    EXPECT_TRUE(d.only_in_a.empty());
    EXPECT_TRUE(d.only_in_b.empty());
    const CellDiff& c = d.cells[0];
    EXPECT_EQ(c.key, kKey);
    EXPECT_TRUE(c.comparable());
    EXPECT_TRUE(c.changed());
    // umm is new in B; ties (4,000 each) in name order; steady_state unchanged.
    expect_rows(c.metrics,
                {{"umm.min_pool", std::nullopt, 45200, 45200},
                 {"umm.footprint", std::nullopt, 45000, 45000},
                 {"ideal.footprint", 44000, 40000, -4000},
                 {"ideal.min_pool", 44000, 40000, -4000},
                 {"live_peak", 44000, 40000, -4000},
                 {"mbedtls-pool.footprint", 47000, 43500, -3500},
                 {"mbedtls-pool.min_pool", 47100, 43600, -3500}},
                "metrics");
    expect_rows(c.phases, {{"HANDSHAKE", 44000, 40000, -4000}}, "phases");
    expect_rows(c.state_peaks,
                {{"SERVER_HELLO_DONE", std::nullopt, 30500, 30500},
                 {"SERVER_HELLO", 21000, std::nullopt, -21000},
                 {"SERVER_KEY_EXCHANGE", 44000, 40000, -4000}},
                "state peaks");
    expect_rows(c.state_allocations,
                {{"SERVER_KEY_EXCHANGE", 118, 100, -18},
                 {"SERVER_CERTIFICATE", 40, 42, 2},
                 {"SERVER_HELLO", 2, std::nullopt, -2},
                 {"SERVER_HELLO_DONE", std::nullopt, 1, 1}},
                "state allocations");
    expect_rows(c.call_sites, {{kEcp, 6000, 1500, -4500}, {kMpi, std::nullopt, 500, 500}},
                "call sites");
    // Percent of A's figure; none for what A did not have.
    EXPECT_DOUBLE_EQ(*c.call_sites[0].percent, -75.0);
    EXPECT_FALSE(c.call_sites[1].percent.has_value());
    EXPECT_DOUBLE_EQ(*c.state_allocations[1].percent, 5.0);
    EXPECT_NEAR(*c.phases[0].percent, -9.0909, 1e-4);
}

TEST(ProfileDiff, IdenticalDocumentsHaveNoChanges) {
    const json a = fixture("profile_a.json");
    const ProfileDiff d = diff_profiles(a, a);
    ASSERT_EQ(d.cells.size(), 1u);
    EXPECT_FALSE(d.cells[0].changed());
    EXPECT_TRUE(d.cells[0].metrics.empty());
    EXPECT_TRUE(d.cells[0].call_sites.empty());
    const json j = diff_json(d, "a.json", "a.json");
    EXPECT_EQ(j["summary"]["changed"], 0);
    EXPECT_EQ(j["cells"][0]["changed"], false);
}

TEST(ProfileDiff, PairsProfileWithSweepCellAndListsUnpairedCells) {
    const ProfileDiff d = diff_profiles(fixture("profile_a.json"), fixture("sweep.json"));
    EXPECT_EQ(d.b_kind, "tlsheap.sweep");
    ASSERT_EQ(d.cells.size(), 1u);
    EXPECT_EQ(d.cells[0].key, kKey);
    // The sweep's compact profile carries the same figures as profile_b.
    const ProfileDiff full = diff_profiles(fixture("profile_a.json"), fixture("profile_b.json"));
    EXPECT_EQ(d.cells[0].metrics.size(), full.cells[0].metrics.size());
    EXPECT_EQ(d.cells[0].call_sites.size(), full.cells[0].call_sites.size());
    EXPECT_TRUE(d.only_in_a.empty());
    EXPECT_EQ(d.only_in_b,
              std::vector<std::string>{"tls13-ecdsa-p256 | (default mbedtls_config.h) | ilp32"});

    const ProfileDiff back = diff_profiles(fixture("sweep.json"), fixture("profile_a.json"));
    EXPECT_EQ(back.only_in_a,
              std::vector<std::string>{"tls13-ecdsa-p256 | (default mbedtls_config.h) | ilp32"});
    EXPECT_EQ(back.cells[0].metrics[0].name, "umm.min_pool");
    EXPECT_EQ(back.cells[0].metrics[0].delta, -45200);
}

TEST(ProfileDiff, CellWithoutProfileOnOneSideIsNotCompared) {
    json failed = fixture("sweep.json");
    json ok = failed;
    // B's tls13 cell did build this time.
    json profile = fixture("profile_b.json");
    profile["run"]["scenario"] = "tls13-ecdsa-p256";
    ok["cells"][1]["status"] = "ok";
    ok["cells"][1]["error"] = nullptr;
    ok["cells"][1]["profile"] = profile;
    const ProfileDiff d = diff_profiles(failed, ok);
    ASSERT_EQ(d.cells.size(), 2u);
    EXPECT_FALSE(d.cells[0].changed());
    const CellDiff& c = d.cells[1];
    EXPECT_FALSE(c.comparable());
    EXPECT_TRUE(c.changed());
    EXPECT_FALSE(c.a.profiled);
    EXPECT_FALSE(c.a.ok);
    EXPECT_NE(c.a.error.find("MBEDTLS_SSL_KEEP_PEER_CERTIFICATE"), std::string::npos);
    EXPECT_TRUE(c.b.profiled);
    EXPECT_TRUE(c.metrics.empty());
}

TEST(ProfileDiff, RepeatedCellsPairInOrder) {
    const json a = fixture("profile_a.json");
    const json b = fixture("profile_b.json");
    const json two_a = {
        {"schema_version", 1}, {"kind", "tlsheap.profile-abis"}, {"profiles", {a, a}}};
    const json one_b = {{"schema_version", 1}, {"kind", "tlsheap.profile-abis"}, {"profiles", {b}}};
    const ProfileDiff d = diff_profiles(two_a, one_b);
    ASSERT_EQ(d.cells.size(), 1u);
    EXPECT_EQ(d.only_in_a, std::vector<std::string>{kKey + " #2"});
}

TEST(ProfileDiff, JsonHasEveryChange) {
    const ProfileDiff d = diff_profiles(fixture("profile_a.json"), fixture("profile_b.json"));
    const json j = diff_json(d, "a.json", "b.json");
    EXPECT_EQ(j["schema_version"], 1);
    EXPECT_EQ(j["kind"], "tlsheap.diff");
    EXPECT_EQ(j["a"], json({{"file", "a.json"}, {"kind", "tlsheap.profile"}}));
    EXPECT_EQ(j["summary"], json({{"paired", 1},
                                  {"changed", 1},
                                  {"not_comparable", 0},
                                  {"only_in_a", 0},
                                  {"only_in_b", 0}}));
    const json& cell = j["cells"][0];
    EXPECT_EQ(cell["key"], kKey);
    EXPECT_EQ(
        cell["a"],
        json({{"mbedtls_version", "3.6.4"}, {"ok", true}, {"error", nullptr}, {"profiled", true}}));
    EXPECT_EQ(cell["metrics"].size(), 7u);
    EXPECT_EQ(cell["metrics"][0], json({{"name", "umm.min_pool"},
                                        {"a", nullptr},
                                        {"b", 45200},
                                        {"delta", 45200},
                                        {"percent", nullptr}}));
    EXPECT_EQ(cell["call_sites"][0]["name"], kEcp);
    EXPECT_EQ(cell["call_sites"][0]["delta"], -4500);
    EXPECT_DOUBLE_EQ(cell["call_sites"][0]["percent"].get<double>(), -75.0);
    EXPECT_EQ(cell["state_allocations"].size(), 4u);
}

std::string printed(const ProfileDiff& d, unsigned top) {
    return tlsheap::testing::printed_text(
        [&](std::FILE* out) { print_diff(out, d, "a.json", "b.json", top); });
}

TEST(ProfileDiff, TerminalViewIsSignedAndBiggestFirst) {
    const ProfileDiff d = diff_profiles(fixture("profile_a.json"), fixture("profile_b.json"));
    const std::string text = printed(d, 3);
    EXPECT_NE(text.find("1 cell paired: 1 changed, 0 unchanged; 0 only in A, 0 only in B"),
              std::string::npos)
        << text;
    for (const std::string& row : std::vector<std::string>{
             "\n             - -> 45,200       +45,200     new  umm.min_pool\n",
             "\n        44,000 -> 40,000        -4,000   -9.1%  HANDSHAKE\n",
             "\n        21,000 -> -            -21,000    gone  SERVER_HELLO\n",
             "\n         6,000 -> 1,500         -4,500  -75.0%  " + kEcp + "\n",
         }) {
        EXPECT_NE(text.find(row), std::string::npos) << row << "\n" << text;
    }
    // --top 3: seven metrics, three shown.
    EXPECT_NE(text.find("    ... and 4 more"), std::string::npos) << text;
    EXPECT_EQ(text.find("live_peak"), std::string::npos) << text;
}

TEST(ProfileDiff, RefusesUnusableDocuments) {
    const json a = fixture("profile_a.json");
    json trace = {{"schema_version", 1}, {"kind", "tlsheap.trace"}};
    try {
        diff_profiles(a, trace);
        FAIL();
    } catch (const MetricsError& e) {
        EXPECT_STREQ(e.what(), "B: a tlsheap.trace document has no profile figures");
    }
    json future = a;
    future["schema_version"] = 2;
    EXPECT_THROW(diff_profiles(future, a), MetricsError);
    json no_states = a;
    no_states.erase("states");
    EXPECT_THROW(diff_profiles(a, no_states), MetricsError);
    EXPECT_THROW(diff_profiles(json("text"), a), MetricsError);
}

} // namespace
} // namespace tlsheap::analysis
