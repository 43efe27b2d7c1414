#include "cli/profile_command.h"

#include "cli/json_document.h"
#include "cli/output_file.h"
#include "orchestration/record_error.h"
#include "orchestration/recording_run.h"
#include "orchestration/scenario_requirements.h"
#include "pipeline/profile_session.h"
#include "pipeline/source_tree.h"
#include "process/child_process.h"
#include "report/abi_comparison_table.h"
#include "report/profile_json.h"
#include "report/terminal_profile.h"
#include "symbolize/trace_symbolizer.h"
#include "tlsheap/min_pool.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/user_error.h"
#include "variants/build_error.h"
#include "variants/cache_directory.h"
#include "variants/content_hash.h"
#include "variants/known_macros.h"
#include "variants/toolchain.h"
#include "variants/variant_builder.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <sstream>
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

// --connections, --start and --reconnects, checked, into `settings`.
void apply_lifecycle_options(const ProfileOptions& o, pipeline::RecordSettings& settings) {
    auto count = [](const char* option, std::optional<unsigned> value, unsigned most) {
        if (value && (*value == 0 || *value > most)) {
            throw UserError(
                fmt::format("{} must be between 1 and {}, not {}", option, most, *value),
                kExitBadInput);
        }
        return value;
    };
    settings.connections = count("--connections", o.connections, lifecycle::kMaxConnections);
    settings.reconnects = count("--reconnects", o.reconnects, lifecycle::kMaxReconnects);
    if (!o.start.empty()) {
        settings.start = lifecycle::start_from_name(o.start);
        if (!settings.start) {
            throw UserError("--start must be together or staggered, not '" + o.start + "'",
                            kExitBadInput);
        }
    }
}

int run_profile(ProfileOptions o) {
    const unsigned jobs = o.jobs != 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
    const std::optional<record::Side> side = tls::side_from_name(o.side);
    if (!side) {
        throw UserError("--side must be client or server, not '" + o.side + "'", kExitBadInput);
    }
    check_format(o.format);
    pipeline::RecordSettings settings;
    apply_lifecycle_options(o, settings);
    if (o.timeout_seconds <= 0 || o.timeout_seconds > 3600) {
        throw UserError("--timeout must be between 0 and 3600 seconds", kExitBadInput);
    }
    record::Scenario scenario;
    try {
        scenario = record::load_scenario(o.scenario, pipeline::scenario_dir());
    } catch (const record::ScenarioError& e) {
        throw UserError(e.what(), kExitBadInput);
    }
    try {
        for (const std::string& m : o.models) {
            replay::ModelSpec::parse(m);
        }
    } catch (const replay::ModelError& e) {
        throw UserError(e.what(), kExitBadInput);
    }

    pipeline::ProfileSession session(o.mbedtls, jobs,
                                     [&](const std::string& m) { progress(o.quiet, m); });
    settings.side = o.side;
    settings.peer = o.peer;
    settings.connect = o.connect;
    settings.ca = o.ca;
    settings.server_name = o.server_name;
    settings.timeout_seconds = o.timeout_seconds;
    settings.port = o.port;
    settings.real_pool = o.real_pool;
    settings.models = o.models;
    settings.trace = o.trace;
    session.resolve_peer(settings, scenario);

    std::vector<std::string> warnings;
    std::vector<std::string> abis = o.abis;
    if (abis.empty()) {
        abis.push_back(session.default_abi(o.stack_backend, warnings));
    }
    settings.several_traces = abis.size() > 1;
    const auto deltas = session.parse_deltas(o.set, o.unset, o.config);
    std::vector<pipeline::VariantProfile> profiles;
    try {
        // Every variant's effective config first: a config that lacks what
        // the scenario needs is refused before anything is compiled.
        for (const std::string& abi : abis) {
            if (std::any_of(profiles.begin(), profiles.end(),
                            [&](const pipeline::VariantProfile& p) { return p.abi == abi; })) {
                continue;
            }
            pipeline::VariantProfile p;
            p.abi = abi;
            p.run.warnings = warnings;
            p.prepared = session.prepare(o.config, deltas, abi, o.stack_backend, o.real_pool > 0);
            if (const std::string missing =
                    record::missing_requirement(scenario, *side, p.prepared.macros);
                !missing.empty()) {
                throw UserError("config " + p.prepared.config_label + " lacks " + missing +
                                    ", which scenario " + scenario.name + " needs (" + o.side +
                                    " side)",
                                kExitBadInput);
            }
            profiles.push_back(std::move(p));
        }
        for (pipeline::VariantProfile& p : profiles) {
            p.variant = session.build(p.prepared);
            progress(o.quiet,
                     p.variant.compiled_files == 0
                         ? "variant " + p.prepared.library_key.substr(0, 12) + " (" + p.abi +
                               ") is cached: nothing to compile"
                         : fmt::format("variant {} ({}) built: {} files compiled in {:.1f} s",
                                       p.prepared.library_key.substr(0, 12), p.abi,
                                       p.variant.compiled_files, p.variant.seconds));
        }
    } catch (const build::BuildError& e) {
        throw UserError(e.what(), kExitBadInput, e.details());
    }
    for (pipeline::VariantProfile& p : profiles) {
        session.record(settings, scenario, p);
    }

    report::ReportOptions report_options;
    report_options.top_sites = o.top;
    if (profiles.size() == 1) {
        report::print_profile(stdout, profiles.front().run, profiles.front().result,
                              report_options);
    } else {
        std::vector<report::AbiColumn> columns;
        for (const pipeline::VariantProfile& p : profiles) {
            columns.push_back({&p.run, &p.result});
        }
        report::print_abi_comparison(stdout, columns);
    }
    if (!o.json.empty()) {
        nlohmann::json document;
        if (profiles.size() == 1) {
            document =
                report::profile_json(profiles.front().run, profiles.front().result, report_options);
        } else {
            document = {{"schema_version", kProfileSchemaVersion},
                        {"kind", "tlsheap.profile-abis"},
                        {"profiles", nlohmann::json::array()}};
            for (const pipeline::VariantProfile& p : profiles) {
                document["profiles"].push_back(
                    report::profile_json(p.run, p.result, report_options));
            }
        }
        write_document(o.json, document, o.format);
    }
    for (const pipeline::VariantProfile& p : profiles) {
        if (p.status != kExitOk) {
            throw UserError(profiles.size() > 1 ? "ABI " + p.abi + ": " + p.error : p.error,
                            p.status);
        }
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
    cmd->add_option("--trace", options->trace, "where to write the trace (default: in the cache)")
        ->check(output_file());
    cmd->add_option("--json", options->json, "write the profile as JSON to this file")
        ->check(output_file());
    cmd->add_option("--format", options->format,
                    "what --json writes: tlsheap (the full profile), benchmark-action "
                    "(github-action-benchmark's customSmallerIsBetter) or bmf (Bencher)")
        ->capture_default_str();
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
    cmd->add_option(
        "--abi", options->abis,
        "ABI to record on: ilp32 (32-bit x86, the default where it builds), arm (32-bit "
        "ARM under qemu), host; repeat to compare them side by side");
    cmd->add_option("--stack-backend", options->stack_backend,
                    "how the recorder captures stacks: frame-pointer (default on x86), libunwind, "
                    "execinfo");
    cmd->add_option("--top", options->top, "call sites to list")->capture_default_str();
    cmd->add_option("--connections", options->connections,
                    "concurrent connections sharing one config (default: the scenario's, 1)");
    cmd->add_option("--start", options->start,
                    "how concurrent connections start: together (handshakes interleaved step by "
                    "step) or staggered (one after the other, earlier ones kept open)");
    cmd->add_option("--reconnects", options->reconnects,
                    "connect this many times in a row, each connection closed and freed before "
                    "the next (default: the scenario's, 1)");
    cmd->add_flag("-q,--quiet", options->quiet, "no progress messages");
    cmd->callback([options, &exit_code]() { exit_code = run_profile(*options); });
}

} // namespace tlsheap::cli
