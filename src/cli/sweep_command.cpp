#include "cli/sweep_command.h"

#include "cli/heap_option.h"
#include "cli/html_option.h"
#include "cli/json_document.h"
#include "cli/number_option.h"
#include "cli/output_file.h"
#include "pipeline/sweep_runner.h"
#include "tlsheap/user_error.h"

namespace tlsheap::cli {

namespace {

struct SweepOptions {
    pipeline::SweepRequest request;
    std::string heap; // --heap BYTES
    std::string json;
    std::string html;
    std::string format = "tlsheap";
};

int run_sweep_command(SweepOptions o) {
    check_format(o.format, o.json);
    check_html_output(o.html, o.json, o.request.config_files);
    o.request.settings.heap = parse_heap_size(o.heap, "--heap");
    reserve_stdout_for_json(o.json);
    const nlohmann::json sweep = pipeline::run_sweep(o.request);
    pipeline::print_sweep_matrix(stdout, sweep);
    if (!o.json.empty()) {
        write_document(o.json, sweep, o.format);
    }
    if (!o.html.empty()) {
        write_html_report(o.html, "tlsheap sweep", "sweep", nlohmann::json::array(), sweep);
    }
    return kExitOk;
}

} // namespace

void add_sweep_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<SweepOptions>();
    pipeline::SweepRequest& r = o->request;
    CLI::App* cmd = app.add_subcommand(
        "sweep", "Profile a grid of configs x scenarios x models; builds are shared and cached");
    cmd->add_option("--mbedtls", r.mbedtls, "mbedTLS source: 3.6, 2.28 or a directory")
        ->capture_default_str();
    cmd->add_option("--abi", r.abi, "ABI (default: ilp32 where it builds)");
    cmd->add_option("--config", r.config_files,
                    "base config file(s); each is crossed with the --vary axes");
    cmd->add_option("--set", r.set, "NAME[=VALUE] for every config");
    cmd->add_option("--unset", r.unset, "NAME for every config");
    cmd->add_option("--vary", r.vary,
                    "NAME=V1,V2,...: one axis of the grid (on = --set NAME, off = --unset NAME, "
                    "default = untouched, anything else = --set NAME=value)");
    cmd->add_option("--scenario", r.scenarios, "scenarios (repeatable)")->capture_default_str();
    cmd->add_option("--model", r.settings.models, "allocator models")->capture_default_str();
    cmd->add_option("--heap", o->heap,
                    "replay every cell on a device heap of BYTES: each model's verdict and "
                    "headroom");
    cmd->add_option(
        "--peer", r.settings.run.peer,
        "mbedtls (deterministic), openssl, gnutls, nginx or mosquitto (the scenario says "
        "which it runs against)");
    cmd->add_option("--side", r.settings.run.side, "client or server")->capture_default_str();
    step_timeout_option(
        cmd->add_option("--timeout", r.settings.run.timeout_seconds, "seconds per step"))
        ->capture_default_str();
    jobs_option(cmd->add_option("-j,--jobs", r.jobs,
                                "cells (and compilations) in parallel (default: all cores)"));
    cmd->add_option("--shard", r.shard, "I/N: run the I-th of N slices of the grid")
        ->capture_default_str();
    whole_number_option(
        cmd->add_option("--repeat", r.repeat, "runs per cell (the median is kept; for real peers)"),
        1, pipeline::kMostRepeats)
        ->capture_default_str();
    cmd->add_option("--json", o->json,
                    "write the sweep as JSON to FILE (-: stdout, the matrix then on stderr)")
        ->check(output_file());
    cmd->add_option("--format", o->format, "tlsheap, benchmark-action or bmf")
        ->capture_default_str();
    add_html_option(cmd, o->html);
    cmd->add_flag("-q,--quiet", r.quiet, "no progress");
    cmd->callback([o, &exit_code] { exit_code = run_sweep_command(*o); });
}

} // namespace tlsheap::cli
