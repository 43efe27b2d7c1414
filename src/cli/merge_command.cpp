#include "cli/merge_command.h"

#include "cli/json_document.h"
#include "cli/output_file.h"
#include "pipeline/sweep_runner.h"
#include "report/profile_json.h"
#include "tlsheap/user_error.h"

#include <fstream>
#include <set>

namespace tlsheap::cli {

using nlohmann::json;

namespace {

struct MergeOptions {
    std::vector<std::string> inputs;
    std::string json = "-";
    bool allow_partial = false;
};

int run_merge(const MergeOptions& o) {
    refuse_overwriting_inputs("--json", o.json, o.inputs);
    reserve_stdout_for_json(o.json);
    std::vector<json> shards;
    for (const std::string& path : o.inputs) {
        shards.push_back(read_document(path, "shard"));
    }
    const json merged = merge_sweeps(shards, o.allow_partial);
    pipeline::print_sweep_matrix(stdout, merged);
    write_document(o.json, merged, "tlsheap");
    return kExitOk;
}

} // namespace

json merge_sweeps(const std::vector<json>& shards, bool allow_partial) {
    if (shards.empty()) {
        throw UserError("nothing to merge", kExitBadInput);
    }
    json grid;
    std::set<std::string> seen;
    json cells = json::array();
    for (const json& s : shards) {
        if (!s.is_object() || s.value("kind", "") != "tlsheap.sweep") {
            throw UserError("merge takes tlsheap.sweep documents", kExitBadInput);
        }
        if (s.value("schema_version", 0) != kProfileSchemaVersion) {
            throw UserError(
                "a sweep of schema version " + std::to_string(s.value("schema_version", 0)) +
                    " (this tlsheap reads " + std::to_string(kProfileSchemaVersion) + ")",
                kExitBadInput);
        }
        json g = s.at("grid");
        const json shard = g["shard"];
        g.erase("shard");
        if (grid.is_null()) {
            grid = g;
        } else if (grid != g) {
            throw UserError(
                "the documents are shards of different grids (configs, scenarios, models, "
                "ABI or mbedTLS differ)",
                kExitBadInput);
        }
        for (const json& cell : s.at("cells")) {
            const std::string id = cell.at("id");
            if (!seen.insert(id).second) {
                throw UserError("cell " + id + " is in more than one shard", kExitBadInput);
            }
            cells.push_back(cell);
        }
    }
    const std::size_t expected = grid.at("configs").size() * grid.at("scenarios").size();
    if (cells.size() != expected && !allow_partial) {
        throw UserError("the shards hold " + std::to_string(cells.size()) + " of the grid's " +
                            std::to_string(expected) +
                            " cells (a shard is missing; --partial to merge anyway)",
                        kExitBadInput);
    }
    // Cells in grid order, as one unsharded sweep would list them.
    std::vector<std::string> order;
    for (const json& c : grid.at("configs")) {
        for (const json& sc : grid.at("scenarios")) {
            order.push_back(c.at("id").get<std::string>() + "/" + sc.get<std::string>());
        }
    }
    std::sort(cells.begin(), cells.end(), [&](const json& a, const json& b) {
        return std::find(order.begin(), order.end(), a.at("id")) <
               std::find(order.begin(), order.end(), b.at("id"));
    });
    grid["shard"] = {{"index", 1}, {"count", 1}};
    return {{"schema_version", kProfileSchemaVersion},
            {"kind", "tlsheap.sweep"},
            {"grid", grid},
            {"cells", cells}};
}

void add_merge_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<MergeOptions>();
    CLI::App* cmd = app.add_subcommand("merge", "Join the JSON of a sweep's shards into one sweep");
    cmd->add_option("inputs", o->inputs, "shard documents")->required();
    cmd->add_option("--json", o->json,
                    "where to write the merged sweep (-: stdout, the matrix then on stderr)")
        ->check(output_file())
        ->capture_default_str();
    cmd->add_flag("--partial", o->allow_partial, "merge even if some cells are missing");
    cmd->callback([o, &exit_code] { exit_code = run_merge(*o); });
}

} // namespace tlsheap::cli
