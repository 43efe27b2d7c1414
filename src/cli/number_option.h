// Numeric options, checked while the command line is parsed (before anything
// is built or recorded) through tlsheap/number_text.h, with one message form:
//   tlsheap: error: --port must be between 1 and 65535, not 70000
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace tlsheap::cli {

// `option` takes a whole number from `min` to `max`; `unit` ("bytes") follows
// `max` in the message. Returns `option`, to chain.
CLI::Option* whole_number_option(CLI::Option* option, std::uint64_t min, std::uint64_t max,
                                 const std::string& unit = "");

// `option` takes a number of seconds (digits, maybe a fraction) from `min` to `max`.
CLI::Option* seconds_option(CLI::Option* option, double min, double max);

// The options several commands share, with the same bounds everywhere.
// --timeout: a wait per step; below a millisecond it would round to none.
CLI::Option* step_timeout_option(CLI::Option* option);
// -j/--jobs: 1 or more parallel compilations or cells (the default, all
// cores, is the option left out).
CLI::Option* jobs_option(CLI::Option* option);
// --port for the local peer: a TCP port (the default, ephemeral, is the
// option left out).
CLI::Option* port_option(CLI::Option* option);
// --top: how many entries a list shows (0: none).
CLI::Option* top_option(CLI::Option* option);

// The UserError (exit 2) every numeric option gives:
// "NAME must be between MIN and MAX[ UNIT], not TEXT", or with MAX "" (no bound
// but the type's) "NAME must be at least MIN[ UNIT], not TEXT".
[[noreturn]] void throw_out_of_range(const std::string& name, const std::string& min,
                                     const std::string& max, const std::string& unit,
                                     const std::string& text);

} // namespace tlsheap::cli
