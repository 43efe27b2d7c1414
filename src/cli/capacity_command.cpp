#include "cli/capacity_command.h"

#include "cli/heap_option.h"
#include "cli/json_document.h"
#include "cli/number_option.h"
#include "cli/output_file.h"
#include "pipeline/capacity_recordings.h"
#include "pipeline/named_inputs.h"
#include "pipeline/trace_source.h"
#include "report/capacity_report.h"
#include "tlsheap/connection_lifecycle.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_walker.h"
#include "tlsheap/transform.h"
#include "tlsheap/user_error.h"

#include <cstdio>
#include <fmt/format.h>
#include <thread>

namespace tlsheap::cli {

namespace {

struct CapacityOptions {
    std::string trace;
    std::string scenario;
    std::string heap;
    std::vector<std::string> models = {"ideal", "mbedtls-pool", "freertos-heap4", "esp-tlsf",
                                       "umm"};
    std::string transform;
    std::string app_heap;
    std::string json;
    // For --scenario, as in `tlsheap profile`.
    std::string mbedtls = "3.6";
    std::string config;
    std::vector<std::string> set;
    std::vector<std::string> unset;
    std::string abi;
    std::string stack_backend;
    std::string start;
    pipeline::RecordSettings settings;
    unsigned jobs = 0;
    bool quiet = false;
};

std::uint64_t parse_heap(const std::string& text) {
    if (text.empty()) {
        throw UserError("capacity needs --heap BYTES, the size of the device's heap",
                        kExitBadInput);
    }
    return *parse_heap_size(text, "--heap");
}

int run_capacity(CapacityOptions& o) {
    refuse_overwriting_inputs("--json", o.json, {o.trace});
    reserve_stdout_for_json(o.json);
    const std::uint64_t heap = parse_heap(o.heap);
    if (o.trace.empty() == o.scenario.empty()) {
        throw UserError("capacity takes a TRACE or --scenario NAME (one of them)", kExitBadInput);
    }
    const std::vector<replay::ModelSpec> models = pipeline::parse_model_specs(o.models);
    report::CapacitySource source;
    source.app_heap = o.app_heap;
    analysis::CapacityResult result;
    if (!o.trace.empty()) {
        if (!o.start.empty()) {
            throw UserError("--start applies to --scenario; a trace was recorded as it was",
                            kExitBadInput);
        }
        const replay::SourceFactory open = pipeline::trace_source(o.trace, o.transform, o.app_heap);
        try {
            result = analysis::capacity_of_trace(open, models, heap);
        } catch (const analysis::CapacityInputError& e) {
            throw UserError(std::string(e.what()), kExitBadInput);
        }
        trace::TraceReader reader(o.trace);
        trace::TraceWalker walker;
        walker.walk(reader);
        const trace::TraceInfo& info = walker.info();
        if (reader.truncated()) {
            std::printf("  warning: %s\n", reader.truncation_message().c_str());
        }
        source.kind = "trace";
        source.trace = o.trace;
        source.trace_connections = walker.connection_count() - 1;
        source.scenario = info.meta(trace::meta::kScenarioName);
        source.side = info.meta(trace::meta::kRecorderSide);
        source.abi = info.meta(trace::meta::kAbi);
        source.mbedtls_version = info.meta(trace::meta::kMbedtlsVersion);
        source.config = info.meta(trace::meta::kConfigName);
        source.start = "as recorded";
    } else {
        if (!o.transform.empty()) {
            throw UserError("--transform applies to a TRACE", kExitBadInput);
        }
        pipeline::check_app_heap(o.app_heap);
        if (!o.start.empty()) {
            o.settings.run.start = lifecycle::start_from_name(o.start);
            if (!o.settings.run.start) {
                throw UserError("--start must be together or staggered, not '" + o.start + "'",
                                kExitBadInput);
            }
        }
        if (!tls::side_from_name(o.settings.run.side)) {
            throw UserError("--side must be client or server, not '" + o.settings.run.side + "'",
                            kExitBadInput);
        }
        const unsigned jobs =
            o.jobs != 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
        const record::Scenario scenario = pipeline::load_named_scenario(o.scenario);
        pipeline::ProfileSession session(o.mbedtls, jobs, [&](const std::string& m) {
            if (!o.quiet) {
                std::fprintf(stderr, "tlsheap: %s\n", m.c_str());
            }
        });
        // Every recording opens connections together: the peer must serve them.
        o.settings.run.connections = 2;
        session.resolve_peer(o.settings, scenario);
        pipeline::VariantRequest variant;
        variant.config = o.config;
        variant.deltas = session.parse_deltas(o.set, o.unset, o.config);
        if (!o.abi.empty()) {
            variant.abis = {o.abi};
        }
        variant.stack_backend = o.stack_backend;
        pipeline::CapacityRecordings recordings = pipeline::capacity_of_scenario(
            session, variant, o.settings, scenario, models, heap, o.app_heap);
        result = std::move(recordings.capacity);
        const report::RunDescription& run = recordings.last.run;
        source.kind = "scenario";
        source.scenario = run.scenario;
        source.side = run.side;
        source.abi = run.abi;
        source.mbedtls_version = run.mbedtls_version;
        source.config = run.config_name;
        source.start = lifecycle::start_name(recordings.start);
    }
    report::print_capacity(stdout, source, result);
    if (!o.json.empty()) {
        write_json_file(o.json, report::capacity_json(source, result));
    }
    return kExitOk;
}

} // namespace

void add_capacity_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<CapacityOptions>();
    CLI::App* cmd = app.add_subcommand(
        "capacity",
        "The most concurrent connections that fit in a heap, per allocator model, "
        "found by replaying streams of k connections on it (k = 1..8, then doubling and "
        "bisection)");
    cmd->add_option("trace", o->trace,
                    "a trace of N concurrent connections (tlsheap profile --connections N)");
    cmd->add_option(
        "--scenario", o->scenario,
        "record this scenario with k concurrent connections for each k tried, instead of "
        "a trace");
    cmd->add_option("--heap", o->heap, "the device heap, bytes (required)");
    cmd->add_option("--model", o->models, "allocator models (NAME[:key=value,...]; repeatable)")
        ->capture_default_str();
    cmd->add_option("--transform", o->transform,
                    "replay the TRACE as another buffer scheme would allocate");
    cmd->add_option("--app-heap", o->app_heap,
                    "the application's blocks in the same heap, replayed with every stream "
                    "(docs/scenarios.md)");
    cmd->add_option("--json", o->json,
                    "write the answer as JSON to FILE (-: stdout, the report then on stderr)")
        ->check(output_file());
    cmd->add_option("--mbedtls", o->mbedtls, "mbedTLS source (--scenario)")->capture_default_str();
    cmd->add_option("--config", o->config, "config.h to build with (--scenario)");
    cmd->add_option("--set", o->set, "NAME[=VALUE] (--scenario; repeatable)");
    cmd->add_option("--unset", o->unset, "NAME (--scenario; repeatable)");
    cmd->add_option("--abi", o->abi, "ilp32 (default), arm or host (--scenario)");
    cmd->add_option("--stack-backend", o->stack_backend, "how the recorder captures stacks");
    cmd->add_option("--peer", o->settings.run.peer, "mbedtls (deterministic; --scenario)");
    cmd->add_option("--side", o->settings.run.side, "side to record: client or server")
        ->capture_default_str();
    cmd->add_option("--start", o->start,
                    "how the connections start: together (default) or staggered (--scenario)");
    step_timeout_option(cmd->add_option("--timeout", o->settings.run.timeout_seconds,
                                        "seconds to wait for the peer at every step"))
        ->capture_default_str();
    port_option(cmd->add_option("--port", o->settings.run.port, "port for the local peer"));
    jobs_option(
        cmd->add_option("-j,--jobs", o->jobs, "parallel compilations (default: all cores)"));
    cmd->add_flag("-q,--quiet", o->quiet, "no progress messages");
    cmd->callback([o, &exit_code] { exit_code = run_capacity(*o); });
}

} // namespace tlsheap::cli
