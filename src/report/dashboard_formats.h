// Profile figures in the formats existing benchmark dashboards ingest, so a
// CI job can plot heap use per commit next to its timing benchmarks:
//
// * "benchmark-action": github-action-benchmark's customSmallerIsBetter
//   input, a JSON array of {name, unit, value, extra}, one entry per cell and
//   metric.
// * "bmf": Bencher Metric Format, {benchmark: {measure slug: {value}}}, one
//   benchmark per cell and one measure per metric.
//
// Both read any document cell_metrics() reads (profile, profile-abis,
// sweep). Cells whose run failed are left out: their figures are not
// comparable with a completed run's.
#pragma once

#include "analysis/profile_metrics.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tlsheap::report {

// The format names dashboard_document() accepts.
const std::vector<std::string>& dashboard_formats();

// Throws MetricsError for an unknown format, a document cell_metrics()
// cannot read, or one without a single completed cell.
nlohmann::json dashboard_document(const nlohmann::json& doc, const std::string& format);

// "<scenario> [<abi>, <config>]": how a cell is named on a dashboard.
std::string dashboard_cell_name(const analysis::CellMetrics& cell);

// A cell's metric names in report order: live_peak, steady_state, then per
// model (in the profile's order) footprint and min_pool.
std::vector<std::string> ordered_metric_names(const analysis::CellMetrics& cell);

// Bencher's slug of a name: lower case ASCII letters and digits, every other
// run of characters one '-', none at either end, at most 64 characters.
std::string bencher_slug(const std::string& name);

} // namespace tlsheap::report
