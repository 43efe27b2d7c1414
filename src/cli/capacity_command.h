// `tlsheap capacity TRACE|--scenario NAME --heap BYTES`: the most concurrent
// connections that fit in a heap of that size, per allocator model, found by
// replaying streams with 1, 2, 3, ... connections on it.
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_capacity_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
