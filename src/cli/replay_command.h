// `tlsheap replay TRACE`: run a recorded trace through allocator models.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace tlsheap::cli {

struct ReplayCommandOptions {
    std::string trace;
    std::string transform;
    std::string app_heap;
    std::vector<std::string> models = {"ideal", "mbedtls-pool"};
    std::string heap; // --heap, or --pool by its older name
    std::string json;
    std::string html;
    unsigned top = 10;
    bool terminal = true; // print the report (`report` writes only the page)
};

// Exit 1 when the trace does not fit a model's heap.
int run_replay(const ReplayCommandOptions& o);

void add_replay_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
