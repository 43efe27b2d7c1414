#include "cli/gate_command.h"

#include "cli/cli_error.h"
#include "cli/json_document.h"
#include "cli/output_file.h"
#include "cli/sweep_runner.h"
#include "report/number_format.h"
#include "report/profile_diff.h"
#include "report/profile_json.h"
#include "report/profile_metrics.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

namespace tlsheap::cli {

using nlohmann::json;
namespace fs = std::filesystem;

GateThreshold GateThreshold::parse(const std::string& text) {
    static const std::regex form(R"((\d+(\.\d+)?)(%?))");
    std::smatch m;
    if (!std::regex_match(text, m, form)) {
        throw CliError("a threshold is bytes or a percentage (0, 512, 2%), not '" + text + "'",
                       kExitBadInput);
    }
    GateThreshold t;
    if (m[3].length() > 0) {
        t.percent = std::stod(m[1]);
    } else {
        if (m[2].length() > 0) {
            throw CliError("a byte threshold is a whole number, not '" + text + "'", kExitBadInput);
        }
        t.bytes = std::stoull(m[1]);
    }
    return t;
}

bool GateThreshold::allows(std::uint64_t baseline, std::uint64_t current) const {
    if (current <= baseline) {
        return true;
    }
    const std::uint64_t growth = current - baseline;
    if (bytes) {
        return growth <= *bytes;
    }
    return baseline > 0 &&
           static_cast<double>(growth) * 100.0 <= *percent * static_cast<double>(baseline);
}

namespace {

struct GateOptions {
    std::string baseline;
    std::string current;
    std::vector<std::string> thresholds;
    bool update = false;
    std::string json;
    SweepRequest request;
    bool profile_options_given = false;
};

// The family of a metric name ("mbedtls-pool.footprint" -> "footprint").
std::string family(const std::string& metric) {
    const auto dot = metric.find('.');
    return dot == std::string::npos ? metric : metric.substr(dot + 1);
}

bool gated(const std::string& metric) {
    const std::string f = family(metric);
    return f == "live_peak" || f == "footprint" || f == "min_pool";
}

struct Thresholds {
    GateThreshold all;                            // default: zero growth
    std::map<std::string, GateThreshold> by_name; // family or full metric name

    const GateThreshold& for_metric(const std::string& metric) const {
        if (auto it = by_name.find(metric); it != by_name.end()) {
            return it->second;
        }
        if (auto it = by_name.find(family(metric)); it != by_name.end()) {
            return it->second;
        }
        return all;
    }
};

Thresholds parse_thresholds(const std::vector<std::string>& specs) {
    Thresholds t;
    t.all.bytes = 0;
    for (const std::string& spec : specs) {
        const auto eq = spec.find('=');
        if (eq == std::string::npos) {
            t.all = GateThreshold::parse(spec);
            continue;
        }
        const std::string name = spec.substr(0, eq);
        if (!gated(name)) {
            throw CliError("--max-increase " + spec +
                               ": the gate compares live_peak, footprint and "
                               "min_pool (optionally MODEL.footprint, MODEL.min_pool), not '" +
                               name + "'",
                           kExitBadInput);
        }
        t.by_name[name] = GateThreshold::parse(spec.substr(eq + 1));
    }
    return t;
}

std::string describe(const GateThreshold& t) {
    return t.bytes ? fmt::format("{} B", *t.bytes) : fmt::format("{}%", *t.percent);
}

json current_document(const GateOptions& o, const json& baseline) {
    if (!o.current.empty()) {
        return read_document(o.current, "current document");
    }
    SweepRequest request = o.request;
    if (!o.profile_options_given) {
        // Measure what the baseline measured, when it says enough to.
        if (baseline.is_null() || baseline.value("kind", "") != "tlsheap.sweep") {
            throw CliError(
                "give --current FILE or the profile options (--scenario, --config, --set, ...) "
                "to measure the current state",
                kExitBadInput);
        }
        const json& grid = baseline.at("grid");
        if (grid.at("configs").size() != 1 ||
            grid.at("configs")[0].at("label") != "(default config)") {
            throw CliError(
                "the baseline's configs cannot be re-created from it: give the profile options it "
                "was made with",
                kExitBadInput);
        }
        request.scenarios = grid.at("scenarios").get<std::vector<std::string>>();
        request.settings.models = grid.at("models").get<std::vector<std::string>>();
        request.abi = grid.at("abi");
    }
    return run_sweep(request);
}

int run_gate(const GateOptions& o) {
    const Thresholds thresholds = parse_thresholds(o.thresholds);
    json baseline;
    if (fs::exists(o.baseline)) {
        baseline = read_document(o.baseline, "baseline");
    } else if (!o.update) {
        throw CliError("baseline " + o.baseline + " does not exist (--update-baseline creates it)",
                       kExitBadInput);
    }
    const json current = current_document(o, baseline);
    if (o.update) {
        json stored = current;
        if (stored.value("kind", "") == "tlsheap.sweep") {
            for (json& cell : stored["cells"]) {
                if (!cell["profile"].is_null()) {
                    cell["profile"] = compact_profile(cell["profile"]);
                }
            }
        }
        write_document(o.baseline, stored, "tlsheap");
        std::printf("tlsheap gate: baseline %s updated (%zu cells)\n", o.baseline.c_str(),
                    report::cell_metrics(stored).size());
        return kExitOk;
    }

    std::vector<report::CellMetrics> base_cells;
    std::vector<report::CellMetrics> cur_cells;
    try {
        base_cells = report::cell_metrics(baseline);
    } catch (const report::MetricsError& e) {
        throw CliError("baseline " + o.baseline + ": " + e.what(), kExitBadInput);
    }
    try {
        cur_cells = report::cell_metrics(current);
    } catch (const report::MetricsError& e) {
        throw CliError("current document: " + std::string(e.what()), kExitBadInput);
    }
    std::map<std::string, const report::CellMetrics*> base_by_key;
    std::map<std::string, const report::CellMetrics*> cur_by_key;
    for (const auto& c : base_cells) {
        base_by_key[c.key] = &c;
    }
    for (const auto& c : cur_cells) {
        cur_by_key[c.key] = &c;
    }
    std::vector<std::string> only_base;
    std::vector<std::string> only_current;
    for (const auto& [k, c] : base_by_key) {
        if (!cur_by_key.count(k)) {
            only_base.push_back(k);
        }
    }
    for (const auto& [k, c] : cur_by_key) {
        if (!base_by_key.count(k)) {
            only_current.push_back(k);
        }
    }
    if (!only_base.empty() || !only_current.empty()) {
        std::string msg = "the baseline and the current run cover different cells";
        if (!only_base.empty()) {
            msg += "; only in the baseline: " + only_base.front() +
                   (only_base.size() > 1 ? fmt::format(" (+{} more)", only_base.size() - 1) : "");
        }
        if (!only_current.empty()) {
            msg += "; only in the current run: " + only_current.front() +
                   (only_current.size() > 1 ? fmt::format(" (+{} more)", only_current.size() - 1)
                                            : "");
        }
        throw CliError(msg, kExitBadInput);
    }

    json result = {{"schema_version", report::kProfileSchemaVersion},
                   {"kind", "tlsheap.gate"},
                   {"baseline", o.baseline},
                   {"current", o.current.empty() ? json(nullptr) : json(o.current)},
                   {"thresholds", json::object()},
                   {"comparisons", json::array()},
                   {"growths", json::array()},
                   {"missing_in_current", json::array()},
                   {"missing_in_baseline", json::array()},
                   {"notes", json::array()}};
    std::vector<std::string> lines;
    std::size_t compared = 0;
    std::size_t regressions = 0;
    struct Growth {
        std::string cell;
        std::string site;
        std::int64_t delta;
    };
    std::vector<Growth> growths;
    for (const auto& [key, base] : base_by_key) {
        const report::CellMetrics& cur = *cur_by_key.at(key);
        if (base->mbedtls_version != cur.mbedtls_version) {
            result["notes"].push_back(key + ": mbedTLS " + base->mbedtls_version +
                                      " in the baseline, " + cur.mbedtls_version + " now");
        }
        if (base->ok && !cur.ok) {
            ++regressions;
            lines.push_back(fmt::format("FAIL {}: the handshake now fails: {}", key, cur.error));
            result["comparisons"].push_back({{"cell", key},
                                             {"metric", "handshake"},
                                             {"baseline", 1},
                                             {"current", 0},
                                             {"delta", -1},
                                             {"percent", nullptr},
                                             {"regressed", true}});
            continue;
        }
        if (!base->ok) {
            result["notes"].push_back(key + ": the baseline's handshake failed; not compared");
            continue;
        }
        bool cell_regressed = false;
        for (const auto& [metric, before] : base->values) {
            if (!gated(metric) || !cur.values.count(metric)) {
                continue;
            }
            const std::uint64_t after = cur.values.at(metric);
            const GateThreshold& limit = thresholds.for_metric(metric);
            result["thresholds"][metric] = {
                {"bytes", limit.bytes ? json(*limit.bytes) : json(nullptr)},
                {"percent", limit.percent ? json(*limit.percent) : json(nullptr)}};
            const bool regressed = !limit.allows(before, after);
            ++compared;
            const auto delta = static_cast<std::int64_t>(after) - static_cast<std::int64_t>(before);
            const json percent =
                before == 0
                    ? json(nullptr)
                    : json(100.0 * static_cast<double>(delta) / static_cast<double>(before));
            result["comparisons"].push_back({{"cell", key},
                                             {"metric", metric},
                                             {"baseline", before},
                                             {"current", after},
                                             {"delta", delta},
                                             {"percent", percent},
                                             {"regressed", regressed}});
            if (regressed) {
                ++regressions;
                cell_regressed = true;
                lines.push_back(fmt::format(
                    "FAIL {} {}: {} -> {} ({} B, {:+.2f}%; allowed {})", key, metric,
                    report::grouped(before), report::grouped(after), report::signed_grouped(delta),
                    percent.is_null() ? 0.0 : percent.get<double>(), describe(limit)));
            } else if (delta != 0) {
                lines.push_back(fmt::format("ok   {} {}: {} -> {} ({} B)", key, metric,
                                            report::grouped(before), report::grouped(after),
                                            report::signed_grouped(delta)));
            }
        }
        if (cell_regressed) {
            for (const report::Change& c : report::figure_changes(base->sites, cur.sites)) {
                if (c.delta > 0) {
                    growths.push_back({key, c.name, c.delta});
                }
            }
        }
    }
    std::stable_sort(growths.begin(), growths.end(),
                     [](const Growth& a, const Growth& b) { return a.delta > b.delta; });
    const bool pass = regressions == 0;
    std::printf("tlsheap gate: %zu figures of %zu cells against %s: %s\n", compared,
                base_by_key.size(), o.baseline.c_str(), pass ? "PASS" : "REGRESSION");
    for (const std::string& l : lines) {
        std::printf("  %s\n", l.c_str());
    }
    if (!growths.empty()) {
        std::printf("  biggest growths by call site (bytes alive at the live peak):\n");
        for (std::size_t i = 0; i < growths.size() && i < 3; ++i) {
            std::printf("    %s B  %s  [%s]\n", report::signed_grouped(growths[i].delta).c_str(),
                        growths[i].site.c_str(), growths[i].cell.c_str());
        }
    }
    for (const json& n : result["notes"]) {
        std::printf("  note: %s\n", n.get<std::string>().c_str());
    }
    for (std::size_t i = 0; i < growths.size() && i < 3; ++i) {
        result["growths"].push_back({{"cell", growths[i].cell},
                                     {"call_site", growths[i].site},
                                     {"delta", growths[i].delta}});
    }
    result["verdict"] = pass ? "pass" : "regression";
    if (!o.json.empty()) {
        write_document(o.json, result, "tlsheap");
    }
    return pass ? kExitOk : kExitFailed;
}

} // namespace

void add_gate_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<GateOptions>();
    SweepRequest& r = o->request;
    CLI::App* cmd = app.add_subcommand("gate", "Fail (exit 1) when live peak, footprint or min "
                                               "pool grew beyond a threshold against a baseline");
    cmd->add_option("--baseline", o->baseline, "baseline document (a sweep or profile JSON)")
        ->required();
    cmd->add_option("--current", o->current,
                    "current document; without it the profile options below run now");
    cmd->add_option(
        "--max-increase", o->thresholds,
        "[METRIC=]BYTES|PERCENT%: allowed growth (default 0); METRIC is live_peak, footprint, "
        "min_pool or MODEL.footprint/MODEL.min_pool");
    cmd->add_flag("--update-baseline", o->update, "write the current state as the new baseline");
    cmd->add_option("--json", o->json, "write the verdict as JSON")->check(output_file());
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
    cmd->add_option("--peer", r.settings.peer, "mbedtls or openssl");
    cmd->add_option("--repeat", r.repeat, "runs per cell, the median compared (for a real peer)")
        ->capture_default_str();
    cmd->add_option("-j,--jobs", r.jobs, "cells in parallel");
    cmd->add_flag("-q,--quiet", r.quiet, "no progress");
    cmd->callback([o, &exit_code] { exit_code = run_gate(*o); });
}

} // namespace tlsheap::cli
