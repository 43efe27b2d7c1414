#include "cli/oom_command.h"

#include "cli/json_document.h"
#include "cli/number_option.h"
#include "cli/output_file.h"
#include "cli/profile_command.h"
#include "pipeline/allocation_failure_sweep.h"
#include "pipeline/named_inputs.h"
#include "report/allocation_failure_report.h"
#include "tlsheap/number_text.h"
#include "tlsheap/user_error.h"

#include <cstdio>
#include <thread>

namespace tlsheap::cli {

namespace {

// A run that fails at once needs no more; one that waits for the peer in
// vain waits this long before it is a hang.
constexpr double kDefaultStepTimeout = 2;
constexpr unsigned kMostRunners = 16;

struct OomOptions {
    ProfileOptions profile; // the options oom shares with profile
    std::string abi;
    std::string calls;
    bool pools = false;
    unsigned runners = 0;
};

std::pair<std::uint64_t, std::uint64_t> parse_calls(const std::string& text) {
    const auto dash = text.find('-');
    const auto first = whole_number(std::string_view(text).substr(0, dash));
    const auto last =
        dash == std::string::npos ? first : whole_number(std::string_view(text).substr(dash + 1));
    if (!first || !last || *first == 0 || *last < *first) {
        throw UserError("--calls takes K or FIRST-LAST (calls of mbedtls_calloc from 1), not '" +
                            text + "'",
                        kExitBadInput);
    }
    return {*first, *last};
}

int run_oom(OomOptions& o) {
    ProfileOptions& p = o.profile;
    reserve_stdout_for_json(p.json);
    apply_lifecycle_options(p, p.settings);
    pipeline::AllocationFailureRequest request;
    if (!o.calls.empty()) {
        if (o.pools) {
            throw UserError("--calls and --pool are two sweeps: give one", kExitBadInput);
        }
        request.calls = parse_calls(o.calls);
    }
    request.pools = o.pools;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    request.runners = o.runners != 0 ? o.runners : std::min(cores, kMostRunners);
    const record::Scenario scenario = pipeline::load_named_scenario(p.scenario);
    if (scenario.datagram()) {
        // Its forked peer runs would share one UDP socket: a run that hangs
        // would take the next run's datagrams.
        throw UserError("oom runs TLS scenarios; " + scenario.name +
                            " is DTLS, whose peer cannot serve forked runs on one UDP socket",
                        kExitBadInput);
    }
    const unsigned jobs = p.jobs != 0 ? p.jobs : cores;
    pipeline::ProfileSession session(p.mbedtls, jobs, [&](const std::string& m) {
        if (!p.quiet) {
            std::fprintf(stderr, "tlsheap: %s\n", m.c_str());
        }
    });
    session.resolve_peer(p.settings, scenario);
    request.settings = p.settings;
    request.variant.config = p.config;
    request.variant.deltas = session.parse_deltas(p.set, p.unset, p.config);
    if (!o.abi.empty()) {
        request.variant.abis = {o.abi};
    }
    request.variant.stack_backend = p.stack_backend;
    if (!p.quiet) {
        std::fprintf(stderr, "tlsheap: recording the baseline, then failing its allocations one "
                             "run at a time\n");
    }
    const pipeline::AllocationFailureResult result =
        pipeline::sweep_allocation_failures(session, request, scenario);

    report::AllocationFailureSource source;
    source.run = result.baseline.run;
    source.baseline_allocations = result.points.size();
    source.first_call = request.calls ? request.calls->first : 1;
    source.last_call = request.calls ? request.calls->second : result.points.size();
    if (result.pools) {
        source.pools =
            report::PoolSweepRange{result.pools->high, result.pools->low, result.pools->step};
    }
    source.runners = result.runners;
    source.seconds = result.seconds;
    report::print_allocation_failures(stdout, source, result.sweep, result.points);
    if (!p.json.empty()) {
        write_json_file(p.json,
                        report::allocation_failures_json(source, result.sweep, result.points));
    }
    return result.sweep.findings() ? kExitFailed : kExitOk;
}

} // namespace

void add_oom_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<OomOptions>();
    ProfileOptions& p = o->profile;
    p.settings.run.timeout_seconds = kDefaultStepTimeout;
    CLI::App* cmd = app.add_subcommand(
        "oom",
        "Record a handshake, then run it again once per allocation with that mbedtls_calloc "
        "returning NULL, and class what mbedTLS did: a clean out-of-memory error, another error "
        "that hides it, success anyway, a leak, a hang or a crash (exit status 1 for the last "
        "three)");
    cmd->add_option("--mbedtls", p.mbedtls, "mbedTLS source: 3.6, 2.28 or a directory")
        ->capture_default_str();
    cmd->add_option("--config", p.config, "config.h to build with (default: the tree's own)");
    cmd->add_option("--set", p.set, "NAME[=VALUE]: define a config macro (repeatable)");
    cmd->add_option("--unset", p.unset, "NAME: undefine a config macro (repeatable)");
    cmd->add_option("--scenario", p.scenario, "scenario name (scenarios/*.json) or file")
        ->capture_default_str();
    cmd->add_option("--peer", p.settings.run.peer,
                    "mbedtls, the deterministic peer (the only one whose answers repeat)");
    cmd->add_option("--side", p.settings.run.side, "side whose allocations fail: client")
        ->capture_default_str();
    cmd->add_option("--abi", o->abi, "ilp32 (default where it builds), arm or host");
    cmd->add_option("--stack-backend", p.stack_backend, "how the recorder captures stacks");
    cmd->add_option("--calls", o->calls,
                    "fail only these calls: K or FIRST-LAST (default: every allocation of the "
                    "baseline)");
    cmd->add_flag("--pool", o->pools,
                  "instead of failing calls, run on mbedTLS's memory_buffer_alloc with every "
                  "pool size from the mbedtls-pool model's min pool down to 128 bytes, one "
                  "alignment step apart");
    whole_number_option(
        cmd->add_option("--runners", o->runners, "client/peer pairs at once (default: the cores)"),
        1, kMostRunners);
    cmd->add_option("--json", p.json,
                    "write every run's class as JSON to FILE (-: stdout, the report then on "
                    "stderr)")
        ->check(output_file());
    step_timeout_option(cmd->add_option("--timeout", p.settings.run.timeout_seconds,
                                        "seconds a run waits for the peer at every step before "
                                        "it is a hang"))
        ->capture_default_str();
    whole_number_option(
        cmd->add_option("--connections", p.connections,
                        "concurrent connections sharing one config (default: the scenario's)"),
        1, lifecycle::kMaxConnections);
    cmd->add_option("--start", p.start, "together or staggered");
    whole_number_option(cmd->add_option("--reconnects", p.reconnects,
                                        "connections in a row (default: the scenario's)"),
                        1, lifecycle::kMaxReconnects);
    cmd->add_option("--resume", p.resume, "none, session-id or ticket");
    jobs_option(cmd->add_option("-j,--jobs", p.jobs, "parallel compilations (default: all cores)"));
    cmd->add_flag("-q,--quiet", p.quiet, "no progress messages");
    cmd->callback([o, &exit_code]() { exit_code = run_oom(*o); });
}

} // namespace tlsheap::cli
