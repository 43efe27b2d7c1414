// `tlsheap merge A.json B.json ...`: joins the documents of a sweep's shards.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tlsheap::cli {

void add_merge_command(CLI::App& app, int& exit_code);

// Throws UserError (exit 2) when the shards do not belong to one grid,
// overlap, or leave cells out (unless `allow_partial`).
nlohmann::json merge_sweeps(const std::vector<nlohmann::json>& shards, bool allow_partial);

} // namespace tlsheap::cli
