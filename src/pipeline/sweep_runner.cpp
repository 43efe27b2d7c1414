#include "pipeline/sweep_runner.h"

#include "analysis/profile_metrics.h"
#include "orchestration/scenario_requirements.h"
#include "pipeline/named_inputs.h"
#include "pipeline/sweep_grid.h"
#include "pipeline/sweep_progress.h"
#include "report/profile_json.h"
#include "tlsheap/number_format.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/user_error.h"
#include "variants/build_error.h"

#include <algorithm>
#include <atomic>
#include <fmt/format.h>
#include <map>
#include <set>
#include <thread>

namespace tlsheap::pipeline {

using nlohmann::json;

namespace {

struct CellRun {
    GridCell cell;
    std::string status = "ok";
    std::string error;
    std::string failed_state;
    json profile = nullptr;
    json repeats = nullptr; // metric -> the value of every run, with --repeat N > 1
};

// The run with the median live peak stands for the cell: with a real peer
// (random signatures, tickets) repeated runs differ by a few bytes.
std::size_t median_run(const std::vector<VariantProfile>& runs) {
    std::vector<std::size_t> order(runs.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return runs[a].result.live_peak.bytes < runs[b].result.live_peak.bytes;
    });
    return order[order.size() / 2];
}

void strip_stacks(json& j) {
    if (j.is_object()) {
        j.erase("stack");
        for (auto& [key, value] : j.items()) {
            strip_stacks(value);
        }
    } else if (j.is_array()) {
        for (json& v : j) {
            strip_stacks(v);
        }
    }
}

} // namespace

json compact_profile(json profile) {
    profile.erase("series");
    if (profile.contains("variant")) {
        profile["variant"].erase("effective_macros");
    }
    strip_stacks(profile);
    return profile;
}

json run_sweep(const SweepRequest& request) {
    std::vector<VaryAxis> axes;
    for (const std::string& v : request.vary) {
        axes.push_back(VaryAxis::parse(v));
    }
    const auto [shard_index, shard_count] = parse_shard(request.shard);
    if (request.repeat < 1 || request.repeat > kMostRepeats) {
        throw UserError(fmt::format("--repeat must be between 1 and {}", kMostRepeats),
                        kExitBadInput);
    }
    std::map<std::string, record::Scenario> scenarios;
    for (const std::string& name : request.scenarios) {
        scenarios[name] = load_named_scenario(name);
    }
    parse_model_specs(request.settings.models);
    const unsigned jobs =
        request.jobs != 0 ? request.jobs : std::max(1u, std::thread::hardware_concurrency());
    ProfileSession session(request.mbedtls, jobs, nullptr);
    std::vector<std::string> warnings;
    const std::string abi = request.abi.empty() ? session.default_abi("", warnings) : request.abi;

    const std::vector<GridConfig> configs =
        grid_configs(request.config_files, request.set, request.unset, axes);
    const std::vector<GridCell> all_cells = grid_cells(configs, request.scenarios);
    const std::vector<GridCell> cells = shard_cells(all_cells, shard_index, shard_count);

    // Every config's deltas are checked before anything runs: a misspelt
    // macro is unusable input, not a failed cell.
    std::vector<std::vector<build::ConfigDelta>> deltas(configs.size());
    for (std::size_t c = 0; c < configs.size(); ++c) {
        deltas[c] = session.parse_deltas(configs[c].set, configs[c].unset, configs[c].config_file);
    }

    // Prepare and build each config this shard needs, once.
    std::set<std::size_t> needed;
    for (const GridCell& cell : cells) {
        needed.insert(cell.config);
    }
    std::vector<CellRun> runs(cells.size());
    for (std::size_t i = 0; i < cells.size(); ++i) {
        runs[i].cell = cells[i];
    }
    SweepProgress progress(cells.size(), needed.size() + 1, jobs, request.quiet);
    for (const std::string& w : warnings) {
        progress.note("warning: " + w);
    }
    std::map<std::size_t, VariantProfile> built;
    std::map<std::size_t, std::string> build_errors;
    for (const std::size_t c : needed) {
        VariantProfile p;
        p.abi = abi;
        try {
            p.prepared = session.prepare(configs[c].config_file, deltas[c], abi, "",
                                         request.settings.run.real_pool > 0);
            p.variant = session.build(p.prepared);
            built[c] = p;
        } catch (const build::BuildError& e) {
            build_errors[c] = e.what();
        }
        progress.build_done(configs[c].id + " " + configs[c].label +
                            (build_errors.count(c) ? ": FAILED" : ""));
    }
    try {
        session.peer_variant();
    } catch (const build::BuildError& e) {
        throw UserError(std::string("the mbedTLS peer does not build: ") + e.what(), kExitFailed);
    }
    progress.build_done("the mbedTLS peer");

    // Cells in parallel: each is a recorder and a peer, so `jobs` workers
    // keep `jobs` cores busy.
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
        for (std::size_t i = next++; i < runs.size(); i = next++) {
            CellRun& run = runs[i];
            const record::Scenario& scenario = scenarios.at(run.cell.scenario);
            RecordSettings settings = request.settings;
            settings.trace.clear();
            try {
                session.resolve_peer(settings, scenario);
            } catch (const UserError& e) {
                run.status = "record_failed";
                run.error = e.what();
                progress.cell_done(run.cell.id + ": " + run.error);
                continue;
            }
            if (build_errors.count(run.cell.config)) {
                run.status = "build_failed";
                run.error = build_errors.at(run.cell.config);
                progress.cell_done(run.cell.id + ": build failed");
                continue;
            }
            const VariantProfile& variant = built.at(run.cell.config);
            // As the profile session reads it: anything but "client" is the server.
            const record::Side side =
                tls::side_from_name(settings.run.side).value_or(record::Side::Server);
            if (const std::string missing =
                    record::missing_requirement(scenario, side, variant.prepared.macros);
                !missing.empty()) {
                run.status = "build_failed";
                run.error = "config lacks " + missing + ", which the scenario needs";
                progress.cell_done(run.cell.id + ": " + run.error);
                continue;
            }
            std::vector<VariantProfile> repeats;
            try {
                for (unsigned r = 0; r < request.repeat; ++r) {
                    VariantProfile p = variant;
                    session.record(settings, scenario, p);
                    repeats.push_back(std::move(p));
                }
            } catch (const UserError& e) {
                run.status = "record_failed";
                run.error = e.what();
                progress.cell_done(run.cell.id + ": " + run.error);
                continue;
            }
            const VariantProfile& chosen = repeats[median_run(repeats)];
            run.profile = compact_profile(report::profile_json(chosen.run, chosen.result));
            if (repeats.size() > 1) {
                // Every run's figures: the gate compares each one's median.
                run.repeats = json::object();
                for (const VariantProfile& p : repeats) {
                    const json doc = report::profile_json(p.run, p.result);
                    const std::vector<analysis::CellMetrics> metrics = analysis::cell_metrics(doc);
                    for (const auto& [name, value] : metrics.front().values) {
                        run.repeats[name].push_back(value);
                    }
                }
            }
            if (chosen.status != 0) {
                run.status = "handshake_failed";
                run.error = chosen.error;
                run.failed_state = chosen.failed_state;
            }
            progress.cell_done(run.cell.id + ": " +
                               (run.status == "ok"
                                    ? "live peak " + grouped(chosen.result.live_peak.bytes)
                                    : run.status + " in " + run.failed_state));
        }
    };
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < std::min<std::size_t>(jobs, runs.size()); ++t) {
        threads.emplace_back(worker);
    }
    for (std::thread& t : threads) {
        t.join();
    }

    json grid = {{"mbedtls", session.tree().version},
                 {"abi", abi},
                 {"configs", json::array()},
                 {"scenarios", request.scenarios},
                 {"models", request.settings.models},
                 {"repeat", request.repeat},
                 {"shard", {{"index", shard_index}, {"count", shard_count}}}};
    if (request.settings.heap) {
        grid["heap"] = *request.settings.heap; // every cell's replays ran on it
    }
    for (const GridConfig& c : configs) {
        grid["configs"].push_back({{"id", c.id}, {"label", c.label}});
    }
    json document = {{"schema_version", kProfileSchemaVersion},
                     {"kind", "tlsheap.sweep"},
                     {"grid", grid},
                     {"cells", json::array()}};
    for (const CellRun& run : runs) {
        document["cells"].push_back(
            {{"id", run.cell.id},
             {"config", configs[run.cell.config].id},
             {"config_label", configs[run.cell.config].label},
             {"scenario", run.cell.scenario},
             {"abi", abi},
             {"status", run.status},
             {"error", run.error.empty() ? json(nullptr) : json(run.error)},
             {"failed_state", run.failed_state.empty() ? json(nullptr) : json(run.failed_state)},
             {"profile", run.profile},
             {"repeats", run.repeats}});
    }
    return document;
}

namespace {

// "cfg.h --set A=1 --unset B" -> {"cfg.h", "--set A=1", "--unset B"}
std::vector<std::string> label_tokens(const std::string& label) {
    std::vector<std::string> tokens;
    std::size_t start = 0;
    while (start < label.size()) {
        const std::size_t next = label.find(" --", start);
        tokens.push_back(label.substr(start, next - start));
        if (next == std::string::npos) {
            break;
        }
        start = next + 1;
    }
    return tokens;
}

} // namespace

void print_sweep_matrix(std::FILE* out, const json& sweep) {
    const json& grid = sweep.at("grid");
    const auto& models = grid.at("models");
    std::string model;
    for (const json& m : models) {
        if (m != "ideal") {
            model = m.get<std::string>().substr(0, m.get<std::string>().find(':'));
            break;
        }
    }
    std::fprintf(out, "tlsheap sweep: mbedTLS %s, ABI %s, shard %d/%d; cells show live peak%s\n",
                 grid.at("mbedtls").get<std::string>().c_str(),
                 grid.at("abi").get<std::string>().c_str(), grid.at("shard").at("index").get<int>(),
                 grid.at("shard").at("count").get<int>(),
                 model.empty() ? "" : (" / " + model + " min pool").c_str());
    std::map<std::string, std::map<std::string, std::string>> table;
    for (const json& cell : sweep.at("cells")) {
        std::string text;
        if (cell.at("status") == "ok") {
            const json& p = cell.at("profile");
            text = grouped(p.at("live_peak").at("bytes").get<std::uint64_t>());
            for (const json& m : p.at("models")) {
                if (m.at("name") == model && !m.at("min_pool").is_null()) {
                    text += " / " + grouped(m.at("min_pool").get<std::uint64_t>());
                }
            }
        } else if (cell.at("status") == "handshake_failed") {
            text = "FAIL " + cell.at("failed_state").get<std::string>();
        } else {
            text = cell.at("status").get<std::string>();
        }
        table[cell.at("config").get<std::string>()][cell.at("scenario").get<std::string>()] = text;
    }
    // Rows name what differs between configs; what they share goes above.
    std::vector<std::vector<std::string>> tokens;
    for (const json& c : grid.at("configs")) {
        tokens.push_back(label_tokens(c.at("label").get<std::string>()));
    }
    std::vector<std::string> common;
    if (tokens.size() > 1) {
        for (const std::string& t : tokens.front()) {
            if (std::all_of(tokens.begin(), tokens.end(), [&](const std::vector<std::string>& ts) {
                    return std::find(ts.begin(), ts.end(), t) != ts.end();
                })) {
                common.push_back(t);
            }
        }
    }
    std::vector<std::string> labels;
    std::size_t width = 6;
    for (const auto& ts : tokens) {
        std::string label;
        for (const std::string& t : ts) {
            if (std::find(common.begin(), common.end(), t) == common.end()) {
                label += (label.empty() ? "" : " ") + t;
            }
        }
        labels.push_back(label.empty() ? ts.front() : label);
        width = std::max(width, labels.back().size());
    }
    if (!common.empty()) {
        std::fprintf(out, "  every config: %s\n",
                     fmt::format("{}", fmt::join(common, " ")).c_str());
    }
    std::string header = fmt::format("  {:<4} {:<{}}", "", "config", width);
    for (const json& s : grid.at("scenarios")) {
        header += fmt::format("  {:>24}", s.get<std::string>());
    }
    std::fprintf(out, "%s\n", header.c_str());
    std::size_t row = 0;
    for (const json& c : grid.at("configs")) {
        const std::string id = c.at("id");
        const std::string& label = labels[row++];
        if (!table.count(id)) {
            continue; // another shard's
        }
        std::string line = fmt::format("  {:<4} {:<{}}", id, label, width);
        for (const json& s : grid.at("scenarios")) {
            const auto it = table[id].find(s.get<std::string>());
            line += fmt::format("  {:>{}}", it == table[id].end() ? "-" : it->second,
                                std::max<std::size_t>(24, s.get<std::string>().size()));
        }
        std::fprintf(out, "%s\n", line.c_str());
    }
    for (const json& cell : sweep.at("cells")) {
        if (cell.at("status") != "ok") {
            std::fprintf(out, "  %s: %s: %s\n", cell.at("id").get<std::string>().c_str(),
                         cell.at("status").get<std::string>().c_str(),
                         cell.at("error").is_null() ? ""
                                                    : cell.at("error").get<std::string>().c_str());
        }
    }
}

} // namespace tlsheap::pipeline
