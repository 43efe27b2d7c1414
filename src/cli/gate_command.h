// `tlsheap gate`: fail a build when the heap a connection needs grows.
// Compares live peak, footprint and minimum pool per scenario × model
// against a baseline, with thresholds per metric; exit 0 pass, 1 regression,
// 2 unusable input.
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_gate_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
