// `tlsheap advise TRACE`: what the recorded handshake really needed, and the
// config changes that would fit it tighter, with predicted savings;
// `--verify` rebuilds each proposal, re-runs the scenario and measures.
#pragma once

#include <CLI/CLI.hpp>

namespace tlsheap::cli {

void add_advise_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
