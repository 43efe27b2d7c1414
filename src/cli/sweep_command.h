// `tlsheap sweep`: profile a grid of configs × scenarios (× models), with
// builds shared, cells in parallel, shards for CI matrices.
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_sweep_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
