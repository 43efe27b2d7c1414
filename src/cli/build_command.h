// `tlsheap build --export DIR`: a variant (tree, config, deltas, ABI) as a
// package a user's program builds against, to be recorded by `tlsheap record`.
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_build_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
