// `tlsheap oom`: fail every allocation of a handshake once and class what
// mbedTLS did (pipeline/allocation_failure_sweep.h).
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_oom_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
