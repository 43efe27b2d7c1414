// The figures a CI gate compares and dashboards plot, read from any document
// tlsheap writes about profiles (a profile, a multi-ABI profile, a sweep):
// one entry per profiled cell (scenario, config, ABI), each with named
// byte counts. The gate, diff and the dashboard exporters all use these
// names, so a dashboard's series and a gate's verdict talk about the same
// numbers.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace tlsheap::analysis {

class MetricsError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct CellMetrics {
    // "tls12-ecdhe-ecdsa-p256 | (default mbedtls_config.h) | ilp32"
    std::string key;
    std::string scenario;
    std::string config;
    std::string abi;
    std::string mbedtls_version;
    bool ok = true; // the handshake completed
    // The trace it was profiled from ended with its End record; false: the
    // recording was cut off and the figures stop where the trace stops.
    bool trace_complete = true;
    std::string error; // why not
    // "live_peak", "steady_state", "<model>.footprint", "<model>.min_pool";
    // with --heap "<model>.heap_lowest_free" and
    // "<model>.heap_smallest_largest_free_block"; for several reconnect
    // cycles "leak_per_cycle";
    // for concurrent connections "marginal_cost", "<model>.marginal_cost"
    std::map<std::string, std::uint64_t> values;
    // Bytes alive at the live peak, by call site (for "what grew").
    std::map<std::string, std::uint64_t> sites;
    const nlohmann::json* profile = nullptr; // the cell's profile document, if any
};

// Accepts kind tlsheap.profile, tlsheap.profile-abis and tlsheap.sweep.
// Throws MetricsError (one line) for another kind or schema version.
std::vector<CellMetrics> cell_metrics(const nlohmann::json& document);

// The unit and a short description of a metric name, for exporters.
std::string metric_description(const std::string& name);

} // namespace tlsheap::analysis
