// The gate's policy: which figures are gated, how much each may grow, and the
// verdict of a current run against a baseline, cell by cell. `tlsheap gate`
// measures and prints; this decides.
#pragma once

#include "analysis/profile_metrics.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::analysis {

// How much a metric may grow: bytes, or percent of the baseline.
struct GateThreshold {
    std::optional<std::uint64_t> bytes;
    std::optional<double> percent;
    // "0", "512", "2%", "0.5%". Throws UserError (exit 2) otherwise.
    static GateThreshold parse(const std::string& text);
    bool allows(std::uint64_t baseline, std::uint64_t current) const;
    // The same for a figure that must not shrink (headroom): how much it may fall.
    bool allows_decrease(std::uint64_t baseline, std::uint64_t current) const;
    std::string describe() const; // "512 B", "2%"
};

// --max-increase specs: "[METRIC=]BYTES|PERCENT%"; without any, no growth at all.
struct GateThresholds {
    GateThreshold all;
    std::map<std::string, GateThreshold> by_name; // family or full metric name

    // Throws UserError (exit 2) for a malformed spec or a metric the gate does not compare.
    static GateThresholds parse(const std::vector<std::string>& specs);
    const GateThreshold& for_metric(const std::string& metric) const;
};

// live_peak, footprint, min_pool, leak_per_cycle and, for a trace of
// concurrent connections, marginal_cost (what one more connection adds),
// which must not grow, and the --heap headroom (heap_lowest_free,
// heap_smallest_largest_free_block), which must not shrink; of any model
// ("mbedtls-pool.footprint", "umm.marginal_cost").
bool gated(const std::string& metric);
// Whether a metric regresses by shrinking (the headroom) rather than growing.
bool shrinking_regresses(const std::string& metric);

// One gated figure of one cell; metric "handshake" when a handshake that
// completed in the baseline now fails (baseline 1, current 0).
struct GateComparison {
    std::string cell;
    std::string metric;
    std::uint64_t baseline = 0;
    std::uint64_t current = 0;
    std::int64_t delta = 0;
    std::optional<double> percent; // of the baseline; none when it was 0
    GateThreshold limit;
    bool regressed = false;
    std::string error; // the failing handshake's error
};

// A call site whose bytes alive at the live peak grew in a regressed cell.
struct GateGrowth {
    std::string cell;
    std::string site;
    std::int64_t delta = 0;
};

struct GateVerdict {
    std::size_t cells = 0;
    std::size_t compared = 0; // figures compared (handshake rows not counted)
    std::size_t regressions = 0;
    std::vector<GateComparison> comparisons;
    std::vector<GateGrowth> growths; // largest first
    std::vector<std::string> notes;
    bool pass() const { return regressions == 0; }
};

// Throws UserError (exit 2) when the two cover different cells.
GateVerdict judge(const std::vector<CellMetrics>& baseline, const std::vector<CellMetrics>& current,
                  const GateThresholds& thresholds);

} // namespace tlsheap::analysis
