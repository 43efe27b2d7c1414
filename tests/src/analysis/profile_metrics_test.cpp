// The figures gates and dashboards read from documents: keys, and the median
// of repeated runs.
#include "analysis/profile_metrics.h"
#include "document_fixtures.h"

#include <fstream>
#include <gtest/gtest.h>

namespace tlsheap::analysis {
namespace {

using nlohmann::json;

using testing::fixture;

TEST(CellMetrics, RepeatedRunsStandForTheMedianOfEachFigure) {
    json sweep = fixture("sweep.json");
    json& cell = sweep["cells"][0];
    ASSERT_EQ(cell["status"], "ok");
    // Three runs against a real peer: each figure's median, independently.
    cell["repeats"] = {{"live_peak", {44010, 43990, 44000}},
                       {"mbedtls-pool.min_pool", {47100, 47180, 47140}}};
    // An even count takes the lower median: a figure one run really had.
    cell["repeats"]["steady_state"] = {30004, 30000, 30010, 30002};
    const std::vector<CellMetrics> cells = cell_metrics(sweep);
    ASSERT_FALSE(cells.empty());
    EXPECT_EQ(cells[0].values.at("live_peak"), 44000u);
    EXPECT_EQ(cells[0].values.at("mbedtls-pool.min_pool"), 47140u);
    EXPECT_EQ(cells[0].values.at("steady_state"), 30002u);
}

TEST(CellMetrics, ADocumentWithoutConfigNameIsKeyedByItsConfigLabel) {
    json profile = fixture("profile_a.json");
    profile["variant"]["config_name"] = "";
    const std::vector<CellMetrics> cells = cell_metrics(profile);
    ASSERT_EQ(cells.size(), 1u);
    EXPECT_EQ(cells[0].config, profile["variant"]["config"].get<std::string>());
    EXPECT_EQ(cells[0].key.find(" |  | "), std::string::npos) << cells[0].key;
}

TEST(CellMetrics, MarginalCostOfConcurrentConnections) {
    json profile = fixture("profile_a.json");
    EXPECT_EQ(cell_metrics(profile)[0].values.count("marginal_cost"), 0u);
    // A profile of reconnects: connections never open together, no figure.
    profile["connection_costs"] = {{"marginal_cost", nullptr}};
    EXPECT_EQ(cell_metrics(profile)[0].values.count("marginal_cost"), 0u);
    profile["connection_costs"]["marginal_cost"] = {
        {"live", 40654}, {"models", {{"ideal", 40654}, {"mbedtls-pool", 41688}}}};
    const CellMetrics c = cell_metrics(profile)[0];
    EXPECT_EQ(c.values.at("marginal_cost"), 40654u);
    EXPECT_EQ(c.values.at("mbedtls-pool.marginal_cost"), 41688u);
    EXPECT_EQ(metric_description("mbedtls-pool.marginal_cost"),
              "what one more concurrent connection adds to mbedtls-pool's footprint");
}

} // namespace
} // namespace tlsheap::analysis
