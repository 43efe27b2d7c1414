// `tlsheap minpool TRACE`: how big must the static pool be, per allocator.
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_minpool_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
