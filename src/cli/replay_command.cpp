#include "cli/replay_command.h"

#include "cli/heap_option.h"
#include "cli/html_option.h"
#include "cli/json_document.h"
#include "cli/number_option.h"
#include "cli/output_file.h"
#include "pipeline/named_inputs.h"
#include "pipeline/trace_source.h"
#include "report/html_report.h"
#include "report/profile_json.h"
#include "report/terminal_profile.h"
#include "tlsheap/profile_trace.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/transform.h"
#include "tlsheap/user_error.h"

namespace tlsheap::cli {

int run_replay(const ReplayCommandOptions& o) {
    refuse_overwriting_inputs("--json", o.json, {o.trace});
    check_html_output(o.html, o.json, {o.trace});
    reserve_stdout_for_json(o.json);
    replay::ReplayOptions options;
    options.models = pipeline::parse_model_specs(o.models);
    options.pool_size = parse_heap_size(o.heap, "--heap");
    const replay::SourceFactory open = pipeline::trace_source(o.trace, o.transform, o.app_heap);
    replay::ReplayResult result;
    try {
        result = replay::profile_trace(open, options);
    } catch (const replay::TransformError& e) {
        throw UserError(e.what(), kExitBadInput);
    }
    const report::RunDescription run =
        report::run_of_trace(result.info, o.terminal ? "replay" : "report", o.trace);
    report::ReportOptions report_options;
    report_options.top_sites = o.top;
    if (o.terminal) {
        report::print_profile(stdout, run, result, report_options);
    }
    const nlohmann::json profile = o.json.empty() && o.html.empty()
                                       ? nlohmann::json()
                                       : report::profile_json(run, result, report_options);
    if (!o.json.empty()) {
        write_json_file(o.json, profile);
    }
    if (!o.html.empty()) {
        const std::string name = run.scenario.empty() ? o.trace : run.scenario;
        const nlohmann::json views = nlohmann::json::array(
            {report::html_trace_view(name, profile, open, options.models, options.pool_size)});
        write_html_report(o.html, "tlsheap: " + name, "profile", views);
    }
    for (const replay::ModelRun& m : result.models) {
        if (m.failure_count > 0) {
            return kExitFailed; // the trace does not fit the heap given
        }
    }
    return kExitOk;
}

void add_replay_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<ReplayCommandOptions>();
    CLI::App* cmd = app.add_subcommand("replay", "Replay a trace through allocator models");
    cmd->add_option("trace", o->trace, "trace file")->required();
    cmd->add_option("--model", o->models, "model NAME[:key=value,...] (repeatable)")
        ->capture_default_str();
    cmd->add_option("--heap,--pool", o->heap,
                    "a device heap of this many bytes (every model): a verdict per model, and "
                    "allocations that do not fit fail (exit status 1)");
    cmd->add_option("--transform", o->transform,
                    "replay as another buffer scheme would allocate: esp-dynamic[:...], "
                    "axtls-growth[:...]");
    cmd->add_option("--app-heap", o->app_heap,
                    "the application's blocks in the same heap: hold=SIZE,... and/or "
                    "between=SIZE,... (docs/scenarios.md)");
    cmd->add_option("--json", o->json,
                    "write the result as JSON to FILE (-: stdout, the report then on stderr)")
        ->check(output_file());
    add_html_option(cmd, o->html);
    top_option(cmd->add_option("--top", o->top, "call sites to list"))->capture_default_str();
    cmd->callback([o, &exit_code] { exit_code = run_replay(*o); });
}

} // namespace tlsheap::cli
