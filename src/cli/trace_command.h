// `tlsheap trace show|export`: a trace for people and for dashboards.
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_trace_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
