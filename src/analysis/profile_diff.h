// What changed between two documents that carry profiles (profile,
// profile-abis, sweep): cells are paired by their key (scenario, config,
// ABI); for each pair, the headline metrics, the peak of each phase, the peak
// and allocation count of each handshake state and the bytes each call site
// holds at the live peak, with what grew and what shrank, biggest change
// first. JSON: docs/json-schema/diff.schema.json.
#pragma once

#include "analysis/profile_metrics.h"

#include <cstdint>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::analysis {

inline constexpr int kDiffSchemaVersion = 1;

// One figure on both sides. A side that lacks it (a state only one handshake
// went through, a model only one side replayed) has no value; delta counts
// the missing side as 0.
struct Change {
    std::string name;
    std::optional<std::uint64_t> a;
    std::optional<std::uint64_t> b;
    std::int64_t delta = 0;        // b - a
    std::optional<double> percent; // delta in percent of a; none when a is 0 or missing
};

// Entries of both sides whose value differs, largest |delta| first; names
// break ties so the order is stable.
std::vector<Change> figure_changes(const std::map<std::string, std::uint64_t>& a,
                                   const std::map<std::string, std::uint64_t>& b);

struct CellSide {
    std::string mbedtls_version;
    bool ok = true;
    std::string error;
    bool profiled = false; // the document has the cell's profile figures
};

struct CellDiff {
    std::string key;
    std::string scenario;
    std::string config;
    std::string abi;
    CellSide a;
    CellSide b;
    // Only changed entries, largest |delta| first.
    std::vector<Change> metrics;           // live_peak, steady_state, <model>.footprint/.min_pool
    std::vector<Change> phases;            // peak bytes per phase
    std::vector<Change> state_peaks;       // peak bytes per handshake state
    std::vector<Change> state_allocations; // allocations per handshake state
    std::vector<Change> call_sites;        // bytes alive at the live peak per call site

    bool comparable() const { return a.profiled && b.profiled; }
    bool changed() const;
};

struct ProfileDiff {
    std::string a_kind;
    std::string b_kind;
    std::vector<CellDiff> cells; // paired cells, in A's order
    std::vector<std::string> only_in_a;
    std::vector<std::string> only_in_b;
};

// Throws MetricsError when either document is unusable.
ProfileDiff diff_profiles(const nlohmann::json& a, const nlohmann::json& b);

// kind tlsheap.diff; `a_file`/`b_file` name the inputs.
nlohmann::json diff_json(const ProfileDiff& diff, const std::string& a_file,
                         const std::string& b_file);

// The terminal view: per changed cell, at most `top` entries per section.
void print_diff(std::FILE* out, const ProfileDiff& diff, const std::string& a_file,
                const std::string& b_file, unsigned top = 10);

} // namespace tlsheap::analysis
