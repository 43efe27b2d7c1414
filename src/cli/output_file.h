// Output file options (--json, --trace, --output).
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

// Accepts "-" or a path whose directory exists. Checked while the command
// line is parsed, so a mistyped directory is refused (exit 2, one line)
// before minutes of building and recording, not after.
const CLI::Validator& output_file();

} // namespace tlsheap::cli
