#include "cli/replay_command.h"

#include "cli/heap_option.h"
#include "cli/json_document.h"
#include "cli/number_option.h"
#include "cli/output_file.h"
#include "pipeline/named_inputs.h"
#include "pipeline/trace_source.h"
#include "report/profile_json.h"
#include "report/terminal_profile.h"
#include "tlsheap/profile_trace.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/transform.h"
#include "tlsheap/user_error.h"

#include <filesystem>

namespace tlsheap::cli {

namespace {

namespace meta = trace::meta;

struct ReplayCommandOptions {
    std::string trace;
    std::string transform;
    std::string app_heap;
    std::vector<std::string> models = {"ideal", "mbedtls-pool"};
    std::string heap; // --heap, or --pool by its older name
    std::string json;
    unsigned top = 10;
};

int run_replay(const ReplayCommandOptions& o) {
    refuse_overwriting_inputs("--json", o.json, {o.trace});
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
    report::RunDescription run;
    run.command = "replay";
    run.scenario = result.info.meta(meta::kScenarioName);
    run.side = result.info.meta(meta::kRecorderSide);
    run.peer = result.info.meta(meta::kPeer);
    run.mbedtls_version = result.info.meta(meta::kMbedtlsVersion);
    run.mbedtls_origin = result.info.meta(meta::kMbedtlsOrigin);
    run.abi = result.info.meta(meta::kAbi);
    run.config_label = result.info.meta(meta::kConfigLabel);
    run.config_name = result.info.meta(meta::kConfigName);
    run.effective_config = result.info.meta(meta::kConfigEffectiveFile);
    run.variant_key = result.info.meta(meta::kVariantKey);
    run.build_cached = true;
    run.trace_path = o.trace;
    std::error_code no_size; // a trace read from a pipe has none
    const std::uintmax_t trace_bytes = std::filesystem::file_size(o.trace, no_size);
    run.trace_bytes = no_size ? 0 : trace_bytes;
    report::ReportOptions report_options;
    report_options.top_sites = o.top;
    report::print_profile(stdout, run, result, report_options);
    if (!o.json.empty()) {
        write_json_file(o.json, report::profile_json(run, result, report_options));
    }
    for (const replay::ModelRun& m : result.models) {
        if (m.failure_count > 0) {
            return kExitFailed; // the trace does not fit the heap given
        }
    }
    return kExitOk;
}

} // namespace

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
    top_option(cmd->add_option("--top", o->top, "call sites to list"))->capture_default_str();
    cmd->callback([o, &exit_code] { exit_code = run_replay(*o); });
}

} // namespace tlsheap::cli
