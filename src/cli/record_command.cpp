#include "cli/record_command.h"

#include "cli/number_option.h"
#include "cli/replay_command.h"
#include "pipeline/named_inputs.h"
#include "pipeline/profile_session.h"
#include "pipeline/program_recording.h"
#include "tlsheap/user_error.h"
#include "variants/build_error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

namespace tlsheap::cli {

namespace {

struct RecordOptions {
    std::vector<std::string> command;
    std::string trace;
    std::string mbedtls;
    std::string config;
    double timeout_seconds = 600;
    std::vector<std::string> models = {"ideal", "mbedtls-pool"};
    std::string json;
    unsigned top = 10;
};

// A program that loads mbedTLS as shared libraries is recorded through a
// preload shim built for them: `tree`, the one their names say (or
// --mbedtls), and the config they were built with (--config, or the
// installed one).
std::filesystem::path preload_shim_for(const RecordOptions& o,
                                       const std::vector<std::string>& shared,
                                       const std::string& tree) {
    std::string names;
    for (const std::string& library : shared) {
        names += (names.empty() ? "" : ", ") + library;
    }
    if (tree.empty()) {
        throw UserError(o.command.front() +
                            " loads mbedTLS shared libraries of no version tlsheap "
                            "knows (" +
                            names + "): --mbedtls DIR names the tree they were built from",
                        kExitBadInput);
    }
    const std::string config =
        o.config.empty() ? pipeline::installed_config_header(tree) : o.config;
    std::fprintf(stderr,
                 "tlsheap: %s loads mbedTLS as shared libraries (%s): recording them through a "
                 "preload shim (mbedTLS %s, config %s)\n",
                 o.command.front().c_str(), names.c_str(), tree.c_str(),
                 config.empty() ? "the tree's default" : config.c_str());
    pipeline::ProfileSession session(
        tree, std::max(1u, std::thread::hardware_concurrency()),
        [](const std::string& m) { std::fprintf(stderr, "tlsheap: %s\n", m.c_str()); });
    try {
        return session.build_preload_shim(session.prepare_shared_library(config));
    } catch (const build::BuildError& e) {
        throw UserError(e.what(), kExitBadInput, e.details());
    }
}

int run_record(const RecordOptions& o) {
    if (o.json == "-") {
        throw UserError("--json - would mix the document with the program's own output on "
                        "standard output; name a file",
                        kExitBadInput);
    }
    // Before the program runs: a model that does not parse or does not exist
    // is the user's mistake, not a reason to run it for nothing.
    pipeline::parse_model_specs(o.models);
    pipeline::ProgramRecordingRequest request;
    request.command = o.command;
    request.trace = o.trace;
    request.mbedtls = o.mbedtls;
    const std::vector<std::string> shared = pipeline::shared_mbedtls_libraries(o.command.front());
    if (!shared.empty()) {
        request.mbedtls =
            o.mbedtls.empty() ? pipeline::tree_of_shared_libraries(shared) : o.mbedtls;
        request.preload = preload_shim_for(o, shared, request.mbedtls);
    } else if (!o.config.empty()) {
        throw UserError("--config describes mbedTLS shared libraries, and " + o.command.front() +
                            " loads none (an exported variant carries its own config)",
                        kExitBadInput);
    }
    request.timeout = std::chrono::seconds(static_cast<long>(std::ceil(o.timeout_seconds)));
    const pipeline::ProgramRecording recording = pipeline::record_program(request);
    for (const std::string& w : recording.warnings) {
        std::fprintf(stderr, "tlsheap: warning: %s\n", w.c_str());
    }
    ReplayCommandOptions replay;
    replay.trace = o.trace;
    replay.models = o.models;
    replay.json = o.json;
    replay.top = o.top;
    const int replayed = run_replay(replay);
    const std::string& program = o.command.front();
    if (recording.timed_out) {
        throw UserError(program + " was still running after " +
                            std::to_string(request.timeout.count()) +
                            " s (--timeout) and was stopped; its trace ends there",
                        kExitFailed);
    }
    if (recording.truncated) {
        throw UserError(program + " ended (status " + std::to_string(recording.program_status) +
                            ") before its trace was finished; the report covers what it recorded",
                        kExitFailed);
    }
    if (recording.program_status != 0) {
        throw UserError(program + " exited with status " +
                            std::to_string(recording.program_status) + " (trace " + o.trace +
                            " recorded)",
                        kExitFailed);
    }
    return replayed;
}

} // namespace

void add_record_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<RecordOptions>();
    CLI::App* cmd = app.add_subcommand(
        "record", "Run your own program, linked with a variant from `tlsheap build --export` or "
                  "with mbedTLS's shared libraries, and record its mbedTLS heap");
    cmd->add_option("--trace", o->trace, "trace file to write")->required();
    cmd->add_option("--mbedtls", o->mbedtls,
                    "the tree the export was built from, if not the fetched one of the trace's "
                    "mbedTLS version; for a program using mbedTLS shared libraries, the tree "
                    "they were built from (default: the one their names say)");
    cmd->add_option("--config", o->config,
                    "for a program using mbedTLS shared libraries: the config.h they were built "
                    "with (default: the installed /usr/include/mbedtls one, if any)");
    seconds_option(cmd->add_option("--timeout", o->timeout_seconds,
                                   "seconds the program may run before it is stopped"),
                   1, 86400)
        ->capture_default_str();
    cmd->add_option("--model", o->models, "models to replay through: NAME[:key=value,...]")
        ->capture_default_str();
    cmd->add_option("--json", o->json, "write the replay's JSON document to this file");
    top_option(cmd->add_option("--top", o->top, "call sites to list"))->capture_default_str();
    cmd->add_option("command", o->command, "-- PROGRAM ARGS: the program to run")->required();
    cmd->callback([o, &exit_code] { exit_code = run_record(*o); });
}

} // namespace tlsheap::cli
