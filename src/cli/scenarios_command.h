#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

// `tlsheap scenarios`: list the scenarios with their summaries.
void add_scenarios_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
