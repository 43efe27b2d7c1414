// `tlsheap export DOC.json --format benchmark-action|bmf`: a profile,
// profile-abis or sweep document in a dashboard's input format
// (report/dashboard_formats.h).
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_export_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
