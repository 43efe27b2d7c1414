#include "cli/gate_command.h"

#include "analysis/gate_policy.h"
#include "analysis/profile_metrics.h"
#include "cli/heap_option.h"
#include "cli/json_document.h"
#include "cli/number_option.h"
#include "cli/output_file.h"
#include "pipeline/sweep_runner.h"
#include "report/profile_json.h"
#include "symbolize/trace_symbolizer.h"
#include "tlsheap/number_format.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/user_error.h"
#include "variants/cache_directory.h"

#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tlsheap::cli {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct GateOptions {
    std::string baseline;
    std::string current;
    std::vector<std::string> thresholds;
    bool update = false;
    std::string json;
    pipeline::SweepRequest request;
    std::string heap; // --heap BYTES for the profiles the gate runs
    bool profile_options_given = false;
};

json current_document(const GateOptions& o, const json& baseline) {
    if (!o.current.empty()) {
        if (!o.heap.empty()) {
            throw UserError("--heap applies to the profiles the gate runs; the --current document "
                            "was replayed on the heap it says",
                            kExitBadInput);
        }
        return read_document(o.current, "current document");
    }
    pipeline::SweepRequest request = o.request;
    if (!o.profile_options_given) {
        // Measure what the baseline measured, when it says enough to.
        if (baseline.is_null() || baseline.value("kind", "") != "tlsheap.sweep") {
            throw UserError(
                "give --current FILE or the profile options (--scenario, --config, --set, ...) "
                "to measure the current state",
                kExitBadInput);
        }
        const json& grid = baseline.at("grid");
        if (grid.at("configs").size() != 1 ||
            grid.at("configs")[0].at("label") != "(default config)") {
            throw UserError(
                "the baseline's configs cannot be re-created from it: give the profile options it "
                "was made with",
                kExitBadInput);
        }
        request.scenarios = grid.at("scenarios").get<std::vector<std::string>>();
        request.settings.models = grid.at("models").get<std::vector<std::string>>();
        request.abi = grid.at("abi");
        if (grid.contains("heap") && o.heap.empty()) {
            request.settings.heap = parse_heap_size(grid.at("heap").dump(), "the baseline's heap");
        }
    }
    if (!o.heap.empty()) {
        request.settings.heap = parse_heap_size(o.heap, "--heap");
    }
    return pipeline::run_sweep(request);
}

constexpr std::size_t kGrowthsShown = 3;

void print_verdict(const analysis::GateVerdict& v, const std::string& baseline) {
    std::printf("tlsheap gate: %zu figures of %zu cells against %s: %s\n", v.compared, v.cells,
                baseline.c_str(), v.pass() ? "PASS" : "REGRESSION");
    for (const analysis::GateComparison& c : v.comparisons) {
        if (c.metric == "handshake") {
            std::printf("  FAIL %s: the handshake now fails: %s\n", c.cell.c_str(),
                        c.error.c_str());
        } else if (c.regressed) {
            std::printf("  FAIL %s %s: %s -> %s (%s B, %+.2f%%; allowed %s)\n", c.cell.c_str(),
                        c.metric.c_str(), grouped(c.baseline).c_str(), grouped(c.current).c_str(),
                        signed_grouped(c.delta).c_str(), c.percent.value_or(0.0),
                        c.limit.describe().c_str());
        } else if (c.delta != 0) {
            std::printf("  ok   %s %s: %s -> %s (%s B)\n", c.cell.c_str(), c.metric.c_str(),
                        grouped(c.baseline).c_str(), grouped(c.current).c_str(),
                        signed_grouped(c.delta).c_str());
        }
    }
    if (!v.growths.empty()) {
        std::printf("  biggest growths by call site (bytes alive at the live peak):\n");
        for (std::size_t i = 0; i < v.growths.size() && i < kGrowthsShown; ++i) {
            std::printf("    %s B  %s  [%s]\n", signed_grouped(v.growths[i].delta).c_str(),
                        v.growths[i].site.c_str(), v.growths[i].cell.c_str());
        }
    }
    for (const std::string& n : v.notes) {
        std::printf("  note: %s\n", n.c_str());
    }
}

json verdict_json(const analysis::GateVerdict& v, const GateOptions& o) {
    json result = {{"schema_version", kProfileSchemaVersion},
                   {"kind", "tlsheap.gate"},
                   {"baseline", o.baseline},
                   {"current", o.current.empty() ? json(nullptr) : json(o.current)},
                   {"thresholds", json::object()},
                   {"comparisons", json::array()},
                   {"growths", json::array()},
                   {"missing_in_current", json::array()},
                   {"missing_in_baseline", json::array()},
                   {"notes", v.notes}};
    for (const analysis::GateComparison& c : v.comparisons) {
        const bool handshake = c.metric == "handshake";
        if (!handshake) {
            result["thresholds"][c.metric] = {
                {"bytes", c.limit.bytes ? json(*c.limit.bytes) : json(nullptr)},
                {"percent", c.limit.percent ? json(*c.limit.percent) : json(nullptr)}};
        }
        result["comparisons"].push_back({{"cell", c.cell},
                                         {"metric", c.metric},
                                         {"baseline", c.baseline},
                                         {"current", c.current},
                                         {"delta", c.delta},
                                         {"percent", c.percent ? json(*c.percent) : json(nullptr)},
                                         {"regressed", c.regressed}});
    }
    for (std::size_t i = 0; i < v.growths.size() && i < kGrowthsShown; ++i) {
        result["growths"].push_back({{"cell", v.growths[i].cell},
                                     {"call_site", v.growths[i].site},
                                     {"delta", v.growths[i].delta}});
    }
    result["verdict"] = v.pass() ? "pass" : "regression";
    return result;
}

// A baseline is committed and read on other machines: the paths into this
// machine's cache (traces, recorders, effective configs) are written as a
// trace writes them, "<cache>/...", which says where they were without
// naming the machine.
void replace_cache_paths(json& j, const std::vector<symbolize::PortablePrefix>& cache) {
    if (j.is_string()) {
        j = symbolize::portable_path(j.get_ref<const std::string&>(), cache);
    } else if (j.is_structured()) {
        for (json& v : j) {
            replace_cache_paths(v, cache);
        }
    }
}

int run_gate(const GateOptions& o) {
    refuse_overwriting_inputs("--json", o.json, {o.baseline, o.current});
    reserve_stdout_for_json(o.json);
    const auto thresholds = analysis::GateThresholds::parse(o.thresholds);
    json baseline;
    if (fs::exists(o.baseline)) {
        baseline = read_document(o.baseline, "baseline");
    } else if (!o.update) {
        throw UserError("baseline " + o.baseline + " does not exist (--update-baseline creates it)",
                        kExitBadInput);
    }
    const json current = current_document(o, baseline);
    warn_truncated_traces(o.baseline, baseline);
    warn_truncated_traces(o.current.empty() ? "current document" : o.current, current);
    if (o.update) {
        json stored = current;
        if (stored.value("kind", "") == "tlsheap.sweep") {
            for (json& cell : stored["cells"]) {
                if (!cell["profile"].is_null()) {
                    cell["profile"] = pipeline::compact_profile(cell["profile"]);
                }
            }
        }
        replace_cache_paths(stored, {{build::default_cache_directory(), trace::meta::kCachePath}});
        write_document(o.baseline, stored, "tlsheap");
        std::printf("tlsheap gate: baseline %s updated (%zu cells)\n", o.baseline.c_str(),
                    analysis::cell_metrics(stored).size());
        return kExitOk;
    }

    std::vector<analysis::CellMetrics> base_cells;
    std::vector<analysis::CellMetrics> cur_cells;
    try {
        base_cells = analysis::cell_metrics(baseline);
    } catch (const analysis::MetricsError& e) {
        throw UserError("baseline " + o.baseline + ": " + e.what(), kExitBadInput);
    }
    try {
        cur_cells = analysis::cell_metrics(current);
    } catch (const analysis::MetricsError& e) {
        throw UserError("current document: " + std::string(e.what()), kExitBadInput);
    }
    const analysis::GateVerdict verdict = analysis::judge(base_cells, cur_cells, thresholds);
    print_verdict(verdict, o.baseline);
    if (!o.json.empty()) {
        write_document(o.json, verdict_json(verdict, o), "tlsheap");
    }
    return verdict.pass() ? kExitOk : kExitFailed;
}

} // namespace

void add_gate_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<GateOptions>();
    pipeline::SweepRequest& r = o->request;
    CLI::App* cmd = app.add_subcommand(
        "gate", "Fail (exit 1) when live peak, footprint, min pool or leak per cycle grew, or the "
                "--heap headroom shrank, beyond a threshold against a baseline");
    cmd->add_option("--baseline", o->baseline, "baseline document (a sweep or profile JSON)")
        ->required();
    cmd->add_option("--current", o->current,
                    "current document; without it the profile options below run now");
    cmd->add_option(
        "--max-increase", o->thresholds,
        "[METRIC=]BYTES|PERCENT%: allowed growth (default 0), or fall for the headroom; METRIC "
        "is live_peak, footprint, min_pool, leak_per_cycle, heap_lowest_free, "
        "heap_smallest_largest_free_block, or one model's (MODEL.footprint, "
        "MODEL.heap_lowest_free, ...)");
    cmd->add_flag("--update-baseline", o->update, "write the current state as the new baseline");
    cmd->add_option("--json", o->json,
                    "write the verdict as JSON to FILE (-: stdout, the report then on stderr)")
        ->check(output_file());
    // The profile options: what to measure now.
    auto given = [o](const std::string&) { o->profile_options_given = true; };
    cmd->add_option("--mbedtls", r.mbedtls, "mbedTLS source")->capture_default_str();
    cmd->add_option("--abi", r.abi, "ABI");
    cmd->add_option("--config", r.config_files, "config file(s)")->each(given);
    cmd->add_option("--set", r.set, "NAME[=VALUE]")->each(given);
    cmd->add_option("--unset", r.unset, "NAME")->each(given);
    cmd->add_option("--vary", r.vary, "NAME=V1,V2,...")->each(given);
    cmd->add_option("--scenario", r.scenarios, "scenarios")->each(given)->capture_default_str();
    cmd->add_option("--model", r.settings.models, "allocator models")->capture_default_str();
    cmd->add_option("--peer", r.settings.run.peer, "mbedtls, openssl, gnutls, nginx or mosquitto");
    cmd->add_option("--heap", o->heap,
                    "replay on a device heap of BYTES (default: the baseline sweep's); the "
                    "headroom figures need it");
    whole_number_option(cmd->add_option("--repeat", r.repeat,
                                        "runs per cell, the median compared (for a real peer)"),
                        1, pipeline::kMostRepeats)
        ->capture_default_str();
    jobs_option(cmd->add_option("-j,--jobs", r.jobs, "cells in parallel"));
    cmd->add_flag("-q,--quiet", r.quiet, "no progress");
    cmd->callback([o, &exit_code] { exit_code = run_gate(*o); });
}

} // namespace tlsheap::cli
