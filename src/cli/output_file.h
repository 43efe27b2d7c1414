// Output file options (--json, --trace, --output).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace tlsheap::cli {

// Accepts "-" or a path whose directory exists. Checked while the command
// line is parsed, so a mistyped directory is refused (exit 2, one line)
// before minutes of building and recording, not after.
const CLI::Validator& output_file();

// An output_file() that is written whole and renamed into place (traces):
// what is there already must be a regular file, since the rename would
// replace a symlink or a device node itself.
const CLI::Validator& replaced_file();

// Throws UserError (exit 2) when the output file `path` of option `option`
// ("--json") is one of the inputs (the same file, under any name): writing
// it would destroy what the command reads. Commands call it before any work.
void refuse_overwriting_inputs(const std::string& option, const std::string& path,
                               const std::vector<std::string>& inputs);

} // namespace tlsheap::cli
