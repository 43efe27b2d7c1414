// `tlsheap diff A.json B.json`: what grew and what shrank between two
// documents that carry profiles (profile, profile-abis, sweep), cell by cell.
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_diff_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
