#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace tlsheap::cli {

// A command-line mistake as tlsheap says every other error: one line that
// names what was wrong and where, instead of CLI11's own wording ("--json:
// At Most 1 required but received 2" becomes "--json is given 2 times;
// give it once (see tlsheap replay --help)"). `app` is the parsed top level.
std::string parse_error_text(const CLI::ParseError& error, const CLI::App& app);

} // namespace tlsheap::cli
