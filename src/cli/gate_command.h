// `tlsheap gate`: fail a build when the heap a connection needs grows.
// Compares live peak, footprint and minimum pool per scenario × model
// against a baseline, with thresholds per metric; exit 0 pass, 1 regression,
// 2 unusable input.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace tlsheap::cli {

void add_gate_command(CLI::App& app, int& exit_code);

// How much a metric may grow: bytes, or percent of the baseline.
struct GateThreshold {
    std::optional<std::uint64_t> bytes;
    std::optional<double> percent;
    // "0", "512", "2%", "0.5%". Throws CliError (exit 2) otherwise.
    static GateThreshold parse(const std::string& text);
    bool allows(std::uint64_t baseline, std::uint64_t current) const;
};

} // namespace tlsheap::cli
