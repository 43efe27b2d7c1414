#include "cli/profile_command.h"

#include "build/build_error.h"
#include "build/cache_directory.h"
#include "build/content_hash.h"
#include "build/known_macros.h"
#include "build/variant_builder.h"
#include "cli/cli_error.h"
#include "cli/source_tree.h"
#include "process/child_process.h"
#include "record/record_error.h"
#include "record/recording_run.h"
#include "record/scenario_requirements.h"
#include "report/profile_report.h"
#include "symbolize/trace_symbolizer.h"
#include "tlsheap/min_pool.h"
#include "tlsheap/replay_engine.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace tlsheap::cli {

namespace fs = std::filesystem;

namespace {

void progress(bool quiet, const std::string& message) {
    if (!quiet) {
        std::fprintf(stderr, "tlsheap: %s\n", message.c_str());
    }
}

std::vector<build::ConfigDelta> parse_deltas(const ProfileOptions& o,
                                             const build::MbedtlsTree& tree) {
    std::vector<build::ConfigDelta> deltas;
    try {
        for (const std::string& u : o.unset) {
            deltas.push_back(build::ConfigDelta::parse_unset(u));
        }
        for (const std::string& s : o.set) {
            deltas.push_back(build::ConfigDelta::parse_set(s));
        }
    } catch (const build::BuildError& e) {
        throw CliError(e.what(), kExitBadInput);
    }
    if (deltas.empty()) {
        return deltas;
    }
    const auto known = build::macro_names_in_tree(tree);
    std::string config_text;
    if (!o.config.empty() && fs::exists(o.config)) {
        config_text = build::read_text_file(o.config);
    }
    for (const build::ConfigDelta& d : deltas) {
        if (known.count(d.name) == 0 && config_text.find(d.name) == std::string::npos) {
            throw CliError("unknown macro " + d.name + " (mbedTLS " + tree.version +
                               " never mentions it; check the spelling)",
                           kExitBadInput);
        }
        for (const build::ConfigDelta& other : deltas) {
            if (other.name == d.name && other.kind != d.kind) {
                throw CliError("macro " + d.name + " is both --set and --unset", kExitBadInput);
            }
        }
    }
    return deltas;
}

std::string default_trace_path(const fs::path& cache, const ProfileOptions& o,
                               const std::string& scenario, const std::string& key) {
    const fs::path dir = cache / "traces";
    fs::create_directories(dir);
    return (dir / fmt::format("{}-{}-{}-{}.trace", scenario, o.side,
                              o.connect.empty() ? o.peer : std::string("external"),
                              key.substr(0, 12)))
        .string();
}

int run_profile(ProfileOptions o) {
    const fs::path cache = build::default_cache_directory();
    const unsigned jobs = o.jobs != 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
    if (o.side != "client" && o.side != "server") {
        throw CliError("--side must be client or server, not '" + o.side + "'", kExitBadInput);
    }
    if (o.timeout_seconds <= 0 || o.timeout_seconds > 3600) {
        throw CliError("--timeout must be between 0 and 3600 seconds", kExitBadInput);
    }
    const record::Side side = o.side == "client" ? record::Side::Client : record::Side::Server;

    record::Scenario scenario;
    try {
        scenario = record::load_scenario(o.scenario, scenario_dir());
    } catch (const record::ScenarioError& e) {
        throw CliError(e.what(), kExitBadInput);
    }
    if (!o.connect.empty()) {
        o.peer = "external";
    } else if (o.peer.empty()) {
        o.peer = scenario.peers.front();
    } else if (std::find(scenario.peers.begin(), scenario.peers.end(), o.peer) ==
               scenario.peers.end()) {
        throw CliError("scenario " + scenario.name + " does not run against peer '" + o.peer +
                           "' (it supports: " + fmt::format("{}", fmt::join(scenario.peers, ", ")) +
                           ")",
                       kExitBadInput);
    }

    build::VariantBuilder builder(cache, tlsheap_source_dir(), jobs,
                                  [&](const std::string& m) { progress(o.quiet, m); });
    build::MbedtlsTree tree;
    build::PreparedVariant prepared;
    try {
        tree = build::locate_mbedtls_tree(o.mbedtls, cache);
        build::VariantSpec spec;
        spec.tree = tree;
        spec.config_file = o.config;
        spec.deltas = parse_deltas(o, tree);
        spec.real_pool = o.real_pool > 0;
        spec.abi = o.abi;
        spec.stack_backend = o.stack_backend;
        if (const char* flags = std::getenv("TLSHEAP_VARIANT_FLAGS"); flags && *flags) {
            // Sanitizer runs of the test suite build the recorder with these too.
            std::string f = flags;
            for (std::size_t pos = 0; pos < f.size();) {
                const auto next = f.find(' ', pos);
                const std::string flag = f.substr(pos, next - pos);
                if (!flag.empty()) {
                    spec.extra_flags.push_back(flag);
                }
                pos = next == std::string::npos ? f.size() : next + 1;
            }
        }
        prepared = builder.prepare(spec);
    } catch (const build::BuildError& e) {
        throw CliError(e.what(), kExitBadInput, e.details());
    }
    if (const std::string missing = record::missing_requirement(scenario, side, prepared.macros);
        !missing.empty()) {
        throw CliError("config " + prepared.config_label + " lacks " + missing +
                           ", which scenario " + scenario.name + " needs (" + o.side + " side)",
                       kExitBadInput);
    }

    build::VariantBuild variant;
    build::VariantBuild peer_variant;
    const bool need_peer_build = o.peer == "mbedtls" || side == record::Side::Server;
    try {
        variant = builder.build(prepared);
        if (need_peer_build) {
            // The deterministic peer: the same tree with its own default config.
            build::VariantSpec peer_spec;
            peer_spec.tree = tree;
            peer_spec.abi = o.abi;
            peer_spec.stack_backend = o.stack_backend;
            peer_spec.extra_flags = prepared.spec.extra_flags;
            peer_variant = builder.build(builder.prepare(peer_spec));
        }
    } catch (const build::BuildError& e) {
        throw CliError(e.what(), kExitBadInput, e.details());
    }
    progress(o.quiet, variant.compiled_files == 0
                          ? "variant " + variant.prepared.library_key.substr(0, 12) +
                                " is cached: nothing to compile"
                          : fmt::format("variant {} built: {} files compiled in {:.1f} s",
                                        variant.prepared.library_key.substr(0, 12),
                                        variant.compiled_files, variant.seconds));

    const std::string trace_path =
        o.trace.empty() ? default_trace_path(cache, o, scenario.name, variant.recorder_key)
                        : o.trace;
    const fs::path work = cache / "runs" / fmt::format("{}-{}", scenario.name, ::getpid());
    fs::remove_all(work);
    fs::create_directories(work);

    record::RecordingRequest request;
    request.scenario = scenario;
    request.side = side;
    request.peer = o.peer;
    request.recorder = variant.recorder;
    request.der = !prepared.macros.defines("MBEDTLS_PEM_PARSE_C");
    request.peer_recorder = peer_variant.recorder;
    request.peer_der =
        need_peer_build && !peer_variant.prepared.macros.defines("MBEDTLS_PEM_PARSE_C");
    if (o.peer == "external") {
        const auto colon = o.connect.rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == o.connect.size()) {
            throw CliError("--connect needs HOST:PORT, not '" + o.connect + "'", kExitBadInput);
        }
        request.connect_host = o.connect.substr(0, colon);
        request.connect_port = o.connect.substr(colon + 1);
        for (const std::string& ca : o.ca) {
            if (!fs::exists(ca)) {
                throw CliError("CA file " + ca + " does not exist", kExitBadInput);
            }
            request.ca_override.push_back(fs::absolute(ca));
        }
        request.server_name_override = o.server_name;
    }
    request.trace = work / "trace.raw";
    request.work_dir = work;
    request.timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout_seconds * 1000));
    request.port = o.port;
    request.pool_size = o.real_pool;
    request.meta = {{"scenario.name", scenario.name},
                    {"scenario.json", scenario.json},
                    {"peer", o.peer},
                    {"mbedtls.tree", tree.root.string()},
                    {"mbedtls.origin", tree.origin},
                    {"config.label", prepared.config_label},
                    {"config.effective_file", variant.effective_config.string()}};
    progress(o.quiet, "recording " + scenario.name + " (" + o.side + " side) against the " +
                          o.peer + " peer");
    record::RecordingResult recording;
    try {
        recording = record::run_recording(request);
    } catch (const record::RecordError& e) {
        fs::remove_all(work);
        throw CliError(e.what(), e.exit_code() == 2 ? kExitBadInput : kExitFailed);
    } catch (const process::ProcessError& e) {
        fs::remove_all(work);
        throw CliError(e.what(), kExitFailed);
    }

    report::RunDescription run;
    run.scenario = scenario.name;
    run.side = o.side;
    run.peer = recording.peer_description;
    run.mbedtls_version = tree.version;
    run.mbedtls_origin = tree.origin;
    run.abi = o.abi;
    run.config_label = prepared.config_label;
    run.effective_config = variant.effective_config.string();
    for (const build::ConfigDelta& d : prepared.overlay) {
        run.overlay.push_back(d.to_string());
    }
    run.variant_key = variant.recorder_key;
    run.recorder = variant.recorder.string();
    run.build_cached = variant.compiled_files == 0;
    run.compiled_files = variant.compiled_files;
    run.build_seconds = variant.seconds;
    run.trace_path = trace_path;

    if (!fs::exists(request.trace)) {
        fs::remove_all(work);
        throw CliError(recording.error.empty() ? "the recorder wrote no trace" : recording.error,
                       recording.status == 2 ? kExitBadInput : kExitFailed);
    }
    try {
        const auto finalized = symbolize::finalize_trace(request.trace, trace_path, tree.root);
        run.warnings = finalized.warnings;
        if (finalized.resolved < finalized.addresses / 2) {
            run.warnings.push_back(fmt::format("only {} of {} return addresses were symbolized",
                                               finalized.resolved, finalized.addresses));
        }
    } catch (const trace::TraceError& e) {
        fs::remove_all(work);
        throw CliError(std::string("the recorder's trace is unreadable: ") + e.what(), kExitFailed);
    }
    fs::remove_all(work);
    run.trace_bytes = fs::file_size(trace_path);

    replay::ReplayOptions replay_options;
    try {
        for (const std::string& m : o.models) {
            replay_options.models.push_back(replay::ModelSpec::parse(m));
        }
    } catch (const replay::ModelError& e) {
        throw CliError(e.what(), kExitBadInput);
    }
    trace::TraceReader reader(trace_path);
    replay::ReplayResult result = replay::replay_trace(reader, replay_options);
    for (const replay::MinPoolResult& m :
         replay::find_min_pools(trace_path, replay_options.models)) {
        result.min_pools[m.model] = m.min_pool;
    }
    report::ReportOptions report_options;
    report_options.top_sites = o.top;
    report::print_profile(stdout, run, result, report_options);
    if (!o.json.empty()) {
        std::ofstream out(o.json);
        out << report::profile_json(run, result, report_options).dump(2) << "\n";
        if (!out) {
            throw CliError("cannot write " + o.json, kExitBadInput);
        }
    }
    if (recording.status != 0) {
        throw CliError(recording.error, recording.status == 2 ? kExitBadInput : kExitFailed);
    }
    return kExitOk;
}

} // namespace

void add_profile_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<ProfileOptions>();
    CLI::App* cmd = app.add_subcommand(
        "profile", "Build mbedTLS as configured, record a real handshake, report its heap profile");
    cmd->add_option(
           "--mbedtls", options->mbedtls,
           "mbedTLS source: 3.6 or 2.28 (fetched by scripts/fetch-mbedtls.sh) or a directory")
        ->capture_default_str();
    cmd->add_option("--config", options->config,
                    "config.h to build with (default: the tree's own)");
    cmd->add_option("--set", options->set, "NAME[=VALUE]: define a config macro (repeatable)");
    cmd->add_option("--unset", options->unset, "NAME: undefine a config macro (repeatable)");
    cmd->add_option("--scenario", options->scenario, "scenario name (scenarios/*.json) or file")
        ->capture_default_str();
    cmd->add_option("--peer", options->peer, "mbedtls (deterministic) or openssl");
    cmd->add_option("--side", options->side, "side to record: client or server")
        ->capture_default_str();
    cmd->add_option("--connect", options->connect,
                    "HOST:PORT of a server you run (records the client)");
    cmd->add_option("--ca", options->ca, "CA certificate(s) to trust with --connect");
    cmd->add_option("--server-name", options->server_name, "server name to verify with --connect");
    cmd->add_option("--trace", options->trace, "where to write the trace (default: in the cache)");
    cmd->add_option("--json", options->json, "write the profile as JSON to this file");
    cmd->add_option("--timeout", options->timeout_seconds,
                    "seconds to wait for the peer at every step")
        ->capture_default_str();
    cmd->add_option("--port", options->port, "port for the local peer (default: ephemeral)");
    cmd->add_option("-j,--jobs", options->jobs, "parallel compilations (default: all cores)");
    cmd->add_option("--model", options->models,
                    "allocator models to replay (NAME[:key=value,...]; repeatable)")
        ->capture_default_str();
    cmd->add_option("--real-pool", options->real_pool,
                    "record on mbedTLS's own memory_buffer_alloc with a pool of this many bytes");
    cmd->add_option("--abi", options->abi, "ABI to build for")->capture_default_str();
    cmd->add_option("--stack-backend", options->stack_backend,
                    "how the recorder captures stacks: frame-pointer (default on x86), libunwind, "
                    "execinfo");
    cmd->add_option("--top", options->top, "call sites to list")->capture_default_str();
    cmd->add_flag("-q,--quiet", options->quiet, "no progress messages");
    cmd->callback([options, &exit_code]() { exit_code = run_profile(*options); });
}

} // namespace tlsheap::cli
