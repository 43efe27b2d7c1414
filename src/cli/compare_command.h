// `tlsheap compare TRACE...`: the same recording under every buffer scheme
// (as recorded, ESP-IDF dynamic buffers with each option set, axTLS-style
// growth) on every allocator, in one table.
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_compare_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
