// `tlsheap replay TRACE`: run a recorded trace through allocator models.
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_replay_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
