// Output file options (--json, --trace, --output).
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

// Accepts "-" or a path whose directory exists. Checked while the command
// line is parsed, so a mistyped directory is refused (exit 2, one line)
// before minutes of building and recording, not after.
const CLI::Validator& output_file();

// An output_file() that is written whole and renamed into place (traces):
// what is there already must be a regular file, since the rename would
// replace a symlink or a device node itself.
const CLI::Validator& replaced_file();

} // namespace tlsheap::cli
