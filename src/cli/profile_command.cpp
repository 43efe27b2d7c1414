#include "cli/profile_command.h"

#include "build/build_error.h"
#include "build/cache_directory.h"
#include "build/content_hash.h"
#include "build/known_macros.h"
#include "build/toolchain.h"
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


// Everything one ABI's profile needs and produces.
struct AbiProfile {
    std::string abi;
    build::PreparedVariant prepared;
    build::VariantBuild variant;
    report::RunDescription run;
    replay::ReplayResult result;
    int status = kExitOk;
    std::string error;
};

std::vector<std::string> variant_flags_from_environment() {
    std::vector<std::string> flags;
    if (const char* env = std::getenv("TLSHEAP_VARIANT_FLAGS"); env && *env) {
        // Sanitizer runs of the test suite build the recorder with these too.
        std::istringstream in(env);
        std::string flag;
        while (in >> flag) {
            flags.push_back(flag);
        }
    }
    return flags;
}

// The ABI a profile uses when none is given: the device-like 32-bit one
// where this machine can build it.
std::string default_abi(const ProfileOptions& o, std::vector<std::string>& warnings) {
    try {
        build::toolchain_for("ilp32", o.stack_backend);
        return "ilp32";
    } catch (const build::BuildError& e) {
        warnings.push_back(std::string(e.what()) +
                           "; recorded on the host ABI, whose 8-byte pointers overstate a 32-bit "
                           "device's heap");
        return "host";
    }
}

std::string trace_path_for(const fs::path& cache, const ProfileOptions& o, const std::string& scenario,
                           const std::string& abi, const std::string& key, bool several) {
    if (!o.trace.empty()) {
        if (!several) {
            return o.trace;
        }
        fs::path p = o.trace;
        return (p.parent_path() / (p.stem().string() + "-" + abi + p.extension().string())).string();
    }
    const fs::path dir = cache / "traces";
    fs::create_directories(dir);
    return (dir / fmt::format("{}-{}-{}-{}-{}.trace", scenario, o.side,
                              o.connect.empty() ? o.peer : std::string("external"), abi,
                              key.substr(0, 12)))
        .string();
}

void record_one(const ProfileOptions& o, const record::Scenario& scenario, const build::MbedtlsTree& tree,
                const build::VariantBuild& peer_variant, const fs::path& cache, bool several,
                AbiProfile& p) {
    const record::Side side = o.side == "client" ? record::Side::Client : record::Side::Server;
    const std::string trace_path =
        trace_path_for(cache, o, scenario.name, p.abi, p.variant.recorder_key, several);
    const fs::path work = cache / "runs" / fmt::format("{}-{}-{}", scenario.name, p.abi, ::getpid());
    fs::remove_all(work);
    fs::create_directories(work);

    record::RecordingRequest request;
    request.scenario = scenario;
    request.side = side;
    request.peer = o.peer;
    request.recorder = p.variant.recorder;
    request.runner = p.prepared.toolchain.runner;
    request.der = !p.prepared.macros.defines("MBEDTLS_PEM_PARSE_C");
    request.peer_recorder = peer_variant.recorder;
    request.peer_der = !peer_variant.recorder.empty() &&
                       !peer_variant.prepared.macros.defines("MBEDTLS_PEM_PARSE_C");
    if (o.peer == "external") {
        const auto colon = o.connect.rfind(':');
        request.connect_host = o.connect.substr(0, colon);
        request.connect_port = o.connect.substr(colon + 1);
        for (const std::string& ca : o.ca) {
            request.ca_override.push_back(fs::absolute(ca));
        }
        request.server_name_override = o.server_name;
    }
    request.trace = work / "trace.raw";
    request.work_dir = work;
    // Emulated ABIs run many times slower: the per-step timeout scales.
    const double slowdown = request.runner.empty() ? 1.0 : 10.0;
    request.timeout =
        std::chrono::milliseconds(static_cast<long long>(o.timeout_seconds * 1000 * slowdown));
    request.port = o.port;
    request.pool_size = o.real_pool;
    request.meta = {{"scenario.name", scenario.name},
                    {"scenario.json", scenario.json},
                    {"peer", o.peer},
                    {"mbedtls.tree", tree.root.string()},
                    {"mbedtls.origin", tree.origin},
                    {"config.label", p.prepared.config_label},
                    {"config.effective_file", p.variant.effective_config.string()}};
    progress(o.quiet, "recording " + scenario.name + " (" + o.side + " side, ABI " + p.abi +
                          ") against the " + o.peer + " peer");
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

    report::RunDescription& run = p.run;
    run.scenario = scenario.name;
    run.side = o.side;
    run.peer = recording.peer_description;
    run.mbedtls_version = tree.version;
    run.mbedtls_origin = tree.origin;
    run.abi = p.abi;
    run.config_label = p.prepared.config_label;
    run.effective_config = p.variant.effective_config.string();
    for (const build::ConfigDelta& d : p.prepared.overlay) {
        run.overlay.push_back(d.to_string());
    }
    run.variant_key = p.variant.recorder_key;
    run.recorder = p.variant.recorder.string();
    run.build_cached = p.variant.compiled_files == 0;
    run.compiled_files = p.variant.compiled_files;
    run.build_seconds = p.variant.seconds;
    run.trace_path = trace_path;
    run.warnings.insert(run.warnings.end(), p.run.warnings.begin(), p.run.warnings.end());

    if (!fs::exists(request.trace)) {
        fs::remove_all(work);
        throw CliError(recording.error.empty() ? "the recorder wrote no trace" : recording.error,
                       recording.status == 2 ? kExitBadInput : kExitFailed);
    }
    try {
        // Emulated programs load their libraries from the cross sysroot.
        const fs::path sysroot = request.runner.size() >= 3 && request.runner[1] == "-L"
                                     ? fs::path(request.runner[2])
                                     : fs::path();
        const auto finalized = symbolize::finalize_trace(request.trace, trace_path, tree.root, sysroot);
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
    for (const std::string& m : o.models) {
        replay_options.models.push_back(replay::ModelSpec::parse(m));
    }
    trace::TraceReader reader(trace_path);
    p.result = replay::replay_trace(reader, replay_options);
    for (const replay::MinPoolResult& m : replay::find_min_pools(trace_path, replay_options.models)) {
        p.result.min_pools[m.model] = m.min_pool;
    }
    if (recording.status != 0) {
        p.status = recording.status == 2 ? kExitBadInput : kExitFailed;
        p.error = recording.error;
    }
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
        const auto colon = o.connect.rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == o.connect.size()) {
            throw CliError("--connect needs HOST:PORT, not '" + o.connect + "'", kExitBadInput);
        }
        for (const std::string& ca : o.ca) {
            if (!fs::exists(ca)) {
                throw CliError("CA file " + ca + " does not exist", kExitBadInput);
            }
        }
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
    try {
        for (const std::string& m : o.models) {
            replay::ModelSpec::parse(m);
        }
    } catch (const replay::ModelError& e) {
        throw CliError(e.what(), kExitBadInput);
    }

    std::vector<std::string> warnings;
    std::vector<AbiProfile> profiles;
    build::VariantBuilder builder(cache, tlsheap_source_dir(), jobs,
                                  [&](const std::string& m) { progress(o.quiet, m); });
    build::MbedtlsTree tree;
    try {
        tree = build::locate_mbedtls_tree(o.mbedtls, cache);
        std::vector<std::string> abis = o.abis;
        if (abis.empty()) {
            abis.push_back(default_abi(o, warnings));
        }
        const auto deltas = parse_deltas(o, tree);
        // Every variant's effective config first: a config that lacks what
        // the scenario needs is refused before anything is compiled.
        for (const std::string& abi : abis) {
            if (std::any_of(profiles.begin(), profiles.end(),
                            [&](const AbiProfile& p) { return p.abi == abi; })) {
                continue;
            }
            AbiProfile p;
            p.abi = abi;
            p.run.warnings = warnings;
            build::VariantSpec spec;
            spec.tree = tree;
            spec.config_file = o.config;
            spec.deltas = deltas;
            spec.real_pool = o.real_pool > 0;
            spec.abi = abi;
            spec.stack_backend = o.stack_backend;
            spec.extra_flags = variant_flags_from_environment();
            p.prepared = builder.prepare(spec);
            if (const std::string missing = record::missing_requirement(scenario, side, p.prepared.macros);
                !missing.empty()) {
                throw CliError("config " + p.prepared.config_label + " lacks " + missing +
                                   ", which scenario " + scenario.name + " needs (" + o.side + " side)",
                               kExitBadInput);
            }
            profiles.push_back(std::move(p));
        }
    } catch (const build::BuildError& e) {
        throw CliError(e.what(), kExitBadInput, e.details());
    }

    build::VariantBuild peer_variant;
    try {
        for (AbiProfile& p : profiles) {
            p.variant = builder.build(p.prepared);
            progress(o.quiet, p.variant.compiled_files == 0
                                  ? "variant " + p.prepared.library_key.substr(0, 12) + " (" + p.abi +
                                        ") is cached: nothing to compile"
                                  : fmt::format("variant {} ({}) built: {} files compiled in {:.1f} s",
                                                p.prepared.library_key.substr(0, 12), p.abi,
                                                p.variant.compiled_files, p.variant.seconds));
        }
        if (o.peer == "mbedtls" || side == record::Side::Server) {
            // The deterministic peer: the same tree with its own default
            // config, native whatever ABI is recorded.
            build::VariantSpec peer_spec;
            peer_spec.tree = tree;
            peer_spec.abi = "host";
            peer_spec.extra_flags = variant_flags_from_environment();
            peer_variant = builder.build(builder.prepare(peer_spec));
        }
    } catch (const build::BuildError& e) {
        throw CliError(e.what(), kExitBadInput, e.details());
    }

    for (AbiProfile& p : profiles) {
        record_one(o, scenario, tree, peer_variant, cache, profiles.size() > 1, p);
    }

    report::ReportOptions report_options;
    report_options.top_sites = o.top;
    if (profiles.size() == 1) {
        report::print_profile(stdout, profiles.front().run, profiles.front().result, report_options);
    } else {
        std::vector<report::AbiColumn> columns;
        for (const AbiProfile& p : profiles) {
            columns.push_back({&p.run, &p.result});
        }
        report::print_abi_comparison(stdout, columns);
    }
    if (!o.json.empty()) {
        std::ofstream out(o.json);
        if (profiles.size() == 1) {
            out << report::profile_json(profiles.front().run, profiles.front().result, report_options).dump(2)
                << "\n";
        } else {
            nlohmann::json all = {{"schema_version", report::kProfileSchemaVersion},
                                  {"kind", "tlsheap.profile-abis"},
                                  {"profiles", nlohmann::json::array()}};
            for (const AbiProfile& p : profiles) {
                all["profiles"].push_back(report::profile_json(p.run, p.result, report_options));
            }
            out << all.dump(2) << "\n";
        }
        if (!out) {
            throw CliError("cannot write " + o.json, kExitBadInput);
        }
    }
    for (const AbiProfile& p : profiles) {
        if (p.status != kExitOk) {
            throw CliError(profiles.size() > 1 ? "ABI " + p.abi + ": " + p.error : p.error, p.status);
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
    cmd->add_option("--abi", options->abis,
                    "ABI to record on: ilp32 (32-bit x86, the default where it builds), arm (32-bit "
                    "ARM under qemu), host; repeat to compare them side by side");
    cmd->add_option("--stack-backend", options->stack_backend,
                    "how the recorder captures stacks: frame-pointer (default on x86), libunwind, "
                    "execinfo");
    cmd->add_option("--top", options->top, "call sites to list")->capture_default_str();
    cmd->add_flag("-q,--quiet", options->quiet, "no progress messages");
    cmd->callback([options, &exit_code]() { exit_code = run_profile(*options); });
}

} // namespace tlsheap::cli
