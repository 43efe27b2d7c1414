// `tlsheap record --trace T -- PROGRAM ARGS`: records a user's own program
// linked with a variant exported by `tlsheap build --export`, then reports
// the trace as `tlsheap replay` does.
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_record_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
