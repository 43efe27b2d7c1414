#include "cli/compare_command.h"

#include "cli/html_option.h"
#include "cli/json_document.h"
#include "cli/output_file.h"
#include "pipeline/named_inputs.h"
#include "pipeline/trace_source.h"
#include "report/html_report.h"
#include "report/profile_json.h"
#include "tlsheap/number_format.h"
#include "tlsheap/profile_trace.h"
#include "tlsheap/trace_info.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/transform.h"
#include "tlsheap/user_error.h"

#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>

namespace tlsheap::cli {

namespace {

struct CompareOptions {
    std::vector<std::string> traces;
    std::vector<std::string> schemes = {
        "recorded",
        "esp-dynamic",
        "esp-dynamic:free_ca_cert=off,free_config_data=off",
        "esp-dynamic:static_rx=on",
        "axtls-growth",
        "axtls-growth:shared=off",
    };
    std::vector<std::string> models = {"ideal", "mbedtls-pool", "freertos-heap4", "esp-tlsf",
                                       "umm"};
    std::string json;
    std::string html;
};

struct ModelFigures {
    std::string name;
    std::uint64_t footprint = 0;
    std::uint64_t min_pool = 0;
    double fragmentation = 0;
    std::optional<std::uint64_t> steady;
    std::uint64_t used_peak = 0;
};

struct Row {
    std::string trace;
    std::string scheme;
    std::string error;      // the scheme could not apply to this trace
    std::string truncation; // the trace is truncated: what it says
    std::uint64_t live_peak = 0;
    std::optional<std::uint64_t> live_steady;
    std::vector<ModelFigures> models;
    nlohmann::json html_view; // with --html: the scheme's timeline
};

Row compare_one(const std::string& trace, const std::string& scheme,
                const std::vector<replay::ModelSpec>& models, bool html, bool several_traces) {
    Row row;
    row.trace = trace;
    row.scheme = scheme;
    const std::string transform = scheme == "recorded" ? std::string() : scheme;
    const replay::SourceFactory open = pipeline::trace_source(trace, transform);
    try {
        replay::ReplayOptions options;
        options.models = models;
        options.series_points = 1;
        const replay::ReplayResult r = replay::profile_trace(open, options);
        row.live_peak = r.live_peak.bytes;
        row.truncation = r.truncated ? r.truncation_message : std::string();
        row.live_steady = r.live_after_handshake;
        for (const replay::ModelRun& m : r.models) {
            ModelFigures f;
            f.name = m.name;
            f.footprint = m.footprint;
            f.min_pool = r.min_pools.at(m.name);
            f.fragmentation =
                r.live_peak.bytes == 0
                    ? 0
                    : static_cast<double>(m.footprint) / static_cast<double>(r.live_peak.bytes) -
                          1.0;
            f.steady = m.used_after_handshake;
            f.used_peak = m.used_peak.bytes;
            row.models.push_back(f);
        }
        if (html) {
            const report::RunDescription run = report::run_of_trace(r.info, "compare", trace);
            row.html_view = report::html_trace_view(
                (several_traces ? std::filesystem::path(trace).stem().string() + ": " : "") +
                    scheme,
                report::profile_json(run, r), open, models, std::nullopt);
            // The page draws a timeline per scheme: its flame graphs would only weigh.
            row.html_view.erase("alive_at_peak");
            row.html_view["timeline"].erase("allocated_by_state");
        }
    } catch (const replay::TransformError& e) {
        row.error = e.what();
    }
    return row;
}

std::string optional_bytes(const std::optional<std::uint64_t>& v) {
    return v ? grouped(*v) : std::string("-");
}

int run_compare(const CompareOptions& o) {
    refuse_overwriting_inputs("--json", o.json, o.traces);
    check_html_output(o.html, o.json, o.traces);
    reserve_stdout_for_json(o.json);
    const std::vector<replay::ModelSpec> models = pipeline::parse_model_specs(o.models);
    std::vector<Row> rows;
    for (const std::string& trace : o.traces) {
        for (const std::string& scheme : o.schemes) {
            rows.push_back(
                compare_one(trace, scheme, models, !o.html.empty(), o.traces.size() > 1));
        }
    }
    trace::TraceReader reader(o.traces.front());
    const trace::TraceInfo info = trace::TraceInfo::read_description(reader);
    std::printf("tlsheap compare: %s, %s side, mbedTLS %s, ABI %s (%s-byte pointers)\n",
                info.meta(trace::meta::kScenarioName).c_str(),
                info.meta(trace::meta::kRecorderSide).c_str(),
                info.meta(trace::meta::kMbedtlsVersion).c_str(),
                info.meta(trace::meta::kAbi).c_str(), info.meta(trace::meta::kPointerSize).c_str());
    std::printf(
        "  live peak and steady state are requested bytes; per allocator, footprint and min pool\n"
        "  include headers and alignment, steady state is the heap in use after the handshake\n\n");
    // Each truncated trace once, as replay says it.
    std::set<std::string> warned;
    for (const Row& row : rows) {
        if (!row.truncation.empty() && warned.insert(row.trace).second) {
            std::printf("  warning: %s\n", row.truncation.c_str());
        }
    }
    if (!warned.empty()) {
        std::printf("\n");
    }
    const bool several = o.traces.size() > 1;
    std::printf("  %-52s %10s %10s   %-15s %10s %10s %7s %10s\n", "buffer scheme", "live peak",
                "steady", "allocator", "footprint", "min pool", "frag.", "steady");
    for (const Row& row : rows) {
        std::string label = row.scheme;
        if (several) {
            label = std::filesystem::path(row.trace).stem().string() + ": " + label;
        }
        if (!row.error.empty()) {
            std::printf("  %-52s n/a: %s\n", label.c_str(), row.error.c_str());
            continue;
        }
        for (std::size_t i = 0; i < row.models.size(); ++i) {
            const ModelFigures& m = row.models[i];
            std::printf("  %-52s %10s %10s   %-15s %10s %10s %6.1f%% %10s\n",
                        i == 0 ? label.c_str() : "", i == 0 ? grouped(row.live_peak).c_str() : "",
                        i == 0 ? optional_bytes(row.live_steady).c_str() : "", m.name.c_str(),
                        grouped(m.footprint).c_str(), grouped(m.min_pool).c_str(),
                        m.fragmentation * 100.0, optional_bytes(m.steady).c_str());
        }
    }
    if (!o.json.empty()) {
        nlohmann::json j = {
            {"schema_version", 1}, {"kind", "tlsheap.compare"}, {"rows", nlohmann::json::array()}};
        for (const Row& row : rows) {
            nlohmann::json r = {
                {"trace", row.trace},
                {"scheme", row.scheme},
                {"error", row.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(row.error)},
                {"live_peak", row.live_peak},
                {"live_after_handshake",
                 row.live_steady ? nlohmann::json(*row.live_steady) : nlohmann::json(nullptr)},
                {"models", nlohmann::json::array()}};
            for (const ModelFigures& m : row.models) {
                r["models"].push_back(
                    {{"name", m.name},
                     {"footprint", m.footprint},
                     {"min_pool", m.min_pool},
                     {"fragmentation", m.fragmentation},
                     {"used_peak", m.used_peak},
                     {"used_after_handshake",
                      m.steady ? nlohmann::json(*m.steady) : nlohmann::json(nullptr)}});
            }
            j["rows"].push_back(r);
        }
        write_json_file(o.json, j);
    }
    if (!o.html.empty()) {
        nlohmann::json views = nlohmann::json::array();
        for (const Row& row : rows) {
            if (!row.html_view.is_null()) {
                views.push_back(row.html_view);
            }
        }
        write_html_report(o.html, "tlsheap compare: " + info.meta(trace::meta::kScenarioName),
                          "compare", views);
    }
    return kExitOk;
}

} // namespace

void add_compare_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<CompareOptions>();
    CLI::App* cmd =
        app.add_subcommand("compare", "One table: each buffer scheme (as recorded, ESP-IDF dynamic "
                                      "buffers, axTLS growth) on each allocator");
    cmd->add_option("traces", o->traces, "trace file(s)")->required();
    cmd->add_option(
           "--scheme", o->schemes,
           "buffer schemes: recorded, or a transform spec (esp-dynamic:..., axtls-growth:...)")
        ->capture_default_str();
    cmd->add_option("--model", o->models, "allocator models")->capture_default_str();
    cmd->add_option("--json", o->json,
                    "write the table as JSON to FILE (-: stdout, the report then on stderr)")
        ->check(output_file());
    add_html_option(cmd, o->html);
    cmd->callback([o, &exit_code] { exit_code = run_compare(*o); });
}

} // namespace tlsheap::cli
