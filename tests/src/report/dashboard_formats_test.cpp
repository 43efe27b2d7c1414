// Dashboard exports of hand-built documents: the exact entries, and what is
// refused.
#include "document_fixtures.h"
#include "report/dashboard_formats.h"

#include <fstream>
#include <gtest/gtest.h>

namespace tlsheap::report {
namespace {

using nlohmann::json;

using testing::fixture;

const std::string kCell = "tls12-ecdhe-ecdsa-p256 [ilp32, (default mbedtls_config.h)]";
const std::string kKey = "tls12-ecdhe-ecdsa-p256 | (default mbedtls_config.h) | ilp32";

TEST(DashboardFormats, BenchmarkActionHasOneEntryPerMetricInReportOrder) {
    const json out = dashboard_document(fixture("profile_a.json"), "benchmark-action");
    const json expected = json::parse(R"([
      {"name": ")" + kCell + R"( live_peak", "unit": "bytes", "value": 44000,
       "extra": "most requested bytes alive at once\nmbedTLS 3.6.4\n)" +
                                      kKey + R"("},
      {"name": ")" + kCell + R"( steady_state", "unit": "bytes", "value": 30000,
       "extra": "requested bytes alive after the handshake\nmbedTLS 3.6.4\n)" +
                                      kKey + R"("},
      {"name": ")" + kCell + R"( ideal.footprint", "unit": "bytes", "value": 44000,
       "extra": "highest pool byte touched by ideal (headers, alignment included)\nmbedTLS 3.6.4\n)" +
                                      kKey + R"("},
      {"name": ")" + kCell + R"( ideal.min_pool", "unit": "bytes", "value": 44000,
       "extra": "smallest ideal pool the run fits in\nmbedTLS 3.6.4\n)" +
                                      kKey + R"("},
      {"name": ")" + kCell + R"( mbedtls-pool.footprint", "unit": "bytes", "value": 47000,
       "extra": "highest pool byte touched by mbedtls-pool (headers, alignment included)\nmbedTLS 3.6.4\n)" +
                                      kKey + R"("},
      {"name": ")" + kCell + R"( mbedtls-pool.min_pool", "unit": "bytes", "value": 47100,
       "extra": "smallest mbedtls-pool pool the run fits in\nmbedTLS 3.6.4\n)" +
                                      kKey + R"("}
    ])");
    EXPECT_EQ(out, expected) << out.dump(2);
}

TEST(DashboardFormats, BmfHasOneBenchmarkPerCellAndSluggedMeasures) {
    const json out = dashboard_document(fixture("profile_a.json"), "bmf");
    const json expected = {{kCell,
                            {{"live-peak", {{"value", 44000}}},
                             {"steady-state", {{"value", 30000}}},
                             {"ideal-footprint", {{"value", 44000}}},
                             {"ideal-min-pool", {{"value", 44000}}},
                             {"mbedtls-pool-footprint", {{"value", 47000}}},
                             {"mbedtls-pool-min-pool", {{"value", 47100}}}}}};
    EXPECT_EQ(out, expected) << out.dump(2);
    // Bencher's optional bounds are left out: one recording has no spread.
    EXPECT_FALSE(out[kCell]["live-peak"].contains("lower_value"));
}

TEST(DashboardFormats, SweepExportsCompletedCellsOnly) {
    const json sweep = fixture("sweep.json");
    const json bmf = dashboard_document(sweep, "bmf");
    ASSERT_EQ(bmf.size(), 1u) << bmf.dump(2);
    EXPECT_EQ(bmf[kCell]["umm-min-pool"]["value"], 45200);
    EXPECT_EQ(bmf[kCell]["live-peak"]["value"], 40000);
    const json entries = dashboard_document(sweep, "benchmark-action");
    ASSERT_EQ(entries.size(), 8u); // live_peak, steady_state, 3 models x 2
    for (const json& e : entries) {
        EXPECT_EQ(e["name"].get<std::string>().rfind(kCell + " ", 0), 0u) << e.dump();
    }
}

TEST(DashboardFormats, ProfileAbisGivesOneCellPerAbi) {
    json a = fixture("profile_a.json");
    json host = a;
    host["variant"]["abi"] = "host";
    host["live_peak"]["bytes"] = 46000;
    const json doc = {
        {"schema_version", 1}, {"kind", "tlsheap.profile-abis"}, {"profiles", {a, host}}};
    const json bmf = dashboard_document(doc, "bmf");
    ASSERT_EQ(bmf.size(), 2u);
    EXPECT_EQ(
        bmf["tls12-ecdhe-ecdsa-p256 [host, (default mbedtls_config.h)]"]["live-peak"]["value"],
        46000);
    EXPECT_EQ(bmf[kCell]["live-peak"]["value"], 44000);
}

TEST(DashboardFormats, RepeatedCellIsOnePointWhenIdenticalAndRefusedOtherwise) {
    const json a = fixture("profile_a.json");
    json same = {{"schema_version", 1}, {"kind", "tlsheap.profile-abis"}, {"profiles", {a, a}}};
    EXPECT_EQ(dashboard_document(same, "benchmark-action").size(), 6u);
    json other = a;
    other["live_peak"]["bytes"] = 1;
    json differing = {
        {"schema_version", 1}, {"kind", "tlsheap.profile-abis"}, {"profiles", {a, other}}};
    EXPECT_THROW(dashboard_document(differing, "bmf"), analysis::MetricsError);
}

TEST(DashboardFormats, FailedRunIsLeftOut) {
    json a = fixture("profile_a.json");
    a["outcomes"] = json::array({{{"kind", "failure"},
                                  {"ret", -0x7780},
                                  {"state", "SERVER_HELLO"},
                                  {"text", "fatal alert"}}});
    try {
        dashboard_document(a, "bmf");
        FAIL() << "a document without a completed run was exported";
    } catch (const analysis::MetricsError& e) {
        EXPECT_STREQ(e.what(), "no completed run in the document: nothing to export");
    }
}

TEST(DashboardFormats, RefusesUnknownFormatAndUnusableDocuments) {
    const json a = fixture("profile_a.json");
    try {
        dashboard_document(a, "csv");
        FAIL();
    } catch (const analysis::MetricsError& e) {
        EXPECT_STREQ(e.what(), "unknown dashboard format 'csv' (known: benchmark-action, bmf)");
    }
    json trace = {{"schema_version", 1}, {"kind", "tlsheap.trace"}, {"events", json::array()}};
    EXPECT_THROW(dashboard_document(trace, "bmf"), analysis::MetricsError);
    json future = a;
    future["schema_version"] = 2;
    EXPECT_THROW(dashboard_document(future, "bmf"), analysis::MetricsError);
    EXPECT_THROW(dashboard_document(json::array(), "bmf"), analysis::MetricsError);
    json broken = a;
    broken["live_peak"]["bytes"] = "44000";
    EXPECT_THROW(dashboard_document(broken, "benchmark-action"), analysis::MetricsError);
    json no_models = a;
    no_models.erase("models");
    EXPECT_THROW(dashboard_document(no_models, "benchmark-action"), analysis::MetricsError);
}

TEST(DashboardFormats, BencherSlugFollowsBenchersRules) {
    EXPECT_EQ(bencher_slug("live_peak"), "live-peak");
    EXPECT_EQ(bencher_slug("mbedtls-pool.min_pool"), "mbedtls-pool-min-pool");
    EXPECT_EQ(bencher_slug("esp-tlsf:idf=5.5.footprint"), "esp-tlsf-idf-5-5-footprint");
    EXPECT_EQ(bencher_slug("  Umm--Best__fit. "), "umm-best-fit");
    EXPECT_EQ(bencher_slug("..."), "");
    const std::string long_name(70, 'a');
    EXPECT_EQ(bencher_slug(long_name), std::string(64, 'a'));
    // Cut at 64 characters, never ending in '-'.
    EXPECT_EQ(bencher_slug(std::string(63, 'a') + ".b"), std::string(63, 'a'));
}

TEST(DashboardFormats, MetricsWhoseSlugsCollideAreRefused) {
    json a = fixture("profile_a.json");
    a["models"][1]["name"] = "ideal_"; // "ideal_.footprint" and "ideal.footprint" -> one slug
    EXPECT_THROW(dashboard_document(a, "bmf"), analysis::MetricsError);
    EXPECT_NO_THROW(dashboard_document(a, "benchmark-action"));
}

} // namespace
} // namespace tlsheap::report
