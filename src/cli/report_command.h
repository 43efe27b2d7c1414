// `tlsheap report TRACE|DOC.json --html FILE`: a trace (replayed through the
// models) or a profile, profile-abis or sweep document as an HTML report.
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_report_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
