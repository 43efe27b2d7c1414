#include "pipeline/profile_session.h"

#include "orchestration/descriptor_limit.h"
#include "orchestration/record_error.h"
#include "orchestration/recording_run.h"
#include "orchestration/resumption_check.h"
#include "orchestration/scenario_requirements.h"
#include "pipeline/run_scratch.h"
#include "pipeline/tool_files.h"
#include "pipeline/trace_source.h"
#include "process/child_process.h"
#include "symbolize/trace_symbolizer.h"
#include "tlsheap/profile_trace.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/user_error.h"
#include "variants/build_error.h"
#include "variants/cache_directory.h"
#include "variants/config_file.h"
#include "variants/content_hash.h"
#include "variants/file_lock.h"
#include "variants/known_macros.h"
#include "variants/toolchain.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <unistd.h>

namespace tlsheap::pipeline {

namespace fs = std::filesystem;
namespace meta = trace::meta;

namespace {

// The recorder's status for options its variant cannot serve: the user's input.
constexpr int kRecorderUsage = static_cast<int>(recorder_protocol::RunStatus::Usage);

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

// Our CI sets TLSHEAP_STRICT_RECORDER=1: a warning in the recorder fails
// there, and never on a user's machine.
build::RecorderSources recorder_sources() {
    build::RecorderSources sources = tool_files().recorder;
    const char* strict = std::getenv("TLSHEAP_STRICT_RECORDER");
    sources.warnings_as_errors = strict != nullptr && std::string_view(strict) == "1";
    return sources;
}

build::MbedtlsTree locate(const std::string& mbedtls, const fs::path& cache) {
    try {
        return build::locate_mbedtls_tree(mbedtls, cache, tool_files().fetch_script);
    } catch (const build::BuildError& e) {
        throw UserError(e.what(), kExitBadInput, e.details());
    }
}

std::string trace_path_for(const fs::path& cache, const RecordSettings& s,
                           const std::string& scenario, const lifecycle::Lifecycle& l,
                           const std::string& abi, const std::string& key) {
    if (!s.trace.empty()) {
        if (!s.several_traces) {
            return s.trace;
        }
        fs::path p = s.trace;
        return (p.parent_path() / (p.stem().string() + "-" + abi + p.extension().string()))
            .string();
    }
    const fs::path dir = cache / "traces";
    fs::create_directories(dir);
    // A lifecycle or painted-stack recording is another recording of the scenario.
    std::string recording_part =
        l.single() ? std::string()
                   : fmt::format("-{}x{}-{}", l.connections, l.reconnects, start_name(l.start));
    if (l.resume != lifecycle::Resume::None) {
        recording_part += std::string("-resume-") + resume_name(l.resume);
    }
    if (l.early_data) {
        recording_part += "-early-data";
    }
    if (s.run.stack) {
        recording_part += "-stack"; // a painted-stack recording (StackHighWater records)
    }
    return (dir / fmt::format("{}{}-{}-{}-{}-{}.trace", scenario, recording_part, s.run.side,
                              s.run.connect.empty() ? s.run.peer : std::string("external"), abi,
                              key.substr(0, 12)))
        .string();
}

// One delta per line: "--set NAME=VALUE" / "--unset NAME".
std::string deltas_text(const std::vector<build::ConfigDelta>& deltas) {
    std::string text;
    for (const build::ConfigDelta& d : deltas) {
        text += (text.empty() ? "" : "\n") + d.to_string();
    }
    return text;
}

// How long a recording waits for another process's lock on the same cached
// trace: TLSHEAP_LOCK_TIMEOUT seconds, or five minutes (a recording takes
// seconds; a sweep cell on a slow emulator, a minute or two).
std::chrono::milliseconds lock_wait_bound() {
    try {
        return build::lock_wait_bound(std::chrono::minutes(5));
    } catch (const build::BuildError& e) {
        throw UserError(e.what(), kExitBadInput);
    }
}

// What a variant needs to send or accept TLS 1.3 0-RTT data.
constexpr char kEarlyDataMacro[] = "MBEDTLS_SSL_EARLY_DATA";

} // namespace

lifecycle::Lifecycle effective_lifecycle(const RecordSettings& s,
                                         const record::Scenario& scenario) {
    lifecycle::Lifecycle l = scenario.lifecycle;
    l.connections = s.run.connections.value_or(l.connections);
    l.start = s.run.start.value_or(l.start);
    l.reconnects = s.run.reconnects.value_or(l.reconnects);
    l.resume = s.run.resume.value_or(l.resume);
    l.early_data = s.run.early_data.value_or(l.early_data);
    return l;
}

std::string portable_config_label(const build::PreparedVariant& p) {
    std::string label = p.spec.config_file.empty()
                            ? "(default " + p.spec.tree.default_config.filename().string() + ")"
                            : p.spec.config_file.filename().string();
    for (const build::ConfigDelta& d : p.spec.deltas) {
        label += " " + d.to_string();
    }
    return label;
}

ProfileSession::ProfileSession(const std::string& mbedtls, unsigned jobs, Progress progress)
    : cache_(build::default_cache_directory()), jobs_(jobs), progress_(std::move(progress)),
      tree_(locate(mbedtls, cache_)),
      builder_(cache_, recorder_sources(), jobs_, [this](const std::string& m) {
          if (progress_) {
              progress_(m);
          }
      }) {
    // A TLSHEAP_LOCK_TIMEOUT that is not a number is the user's mistake
    // (exit 2), before a build would report it as a failed build.
    lock_wait_bound();
}

std::vector<build::ConfigDelta> ProfileSession::parse_deltas(const std::vector<std::string>& set,
                                                             const std::vector<std::string>& unset,
                                                             const std::string& config_file) const {
    std::vector<build::ConfigDelta> deltas;
    try {
        for (const std::string& u : unset) {
            deltas.push_back(build::ConfigDelta::parse_unset(u));
        }
        for (const std::string& s : set) {
            deltas.push_back(build::ConfigDelta::parse_set(s));
        }
    } catch (const build::BuildError& e) {
        throw UserError(e.what(), kExitBadInput);
    }
    // Checked here, before anything reads it (a --config of /dev/zero).
    if (!config_file.empty()) {
        try {
            build::check_config_file(config_file);
        } catch (const build::BuildError& e) {
            throw UserError(e.what(), kExitBadInput);
        }
    }
    if (deltas.empty()) {
        return deltas;
    }
    const auto known = build::macro_names_in_tree(tree_);
    const std::string config_text =
        config_file.empty() ? std::string() : build::read_text_file(config_file);
    for (const build::ConfigDelta& d : deltas) {
        if (known.count(d.name) == 0 && config_text.find(d.name) == std::string::npos) {
            throw UserError("unknown macro " + d.name + " (mbedTLS " + tree_.version +
                                " never mentions it; check the spelling)",
                            kExitBadInput);
        }
        for (const build::ConfigDelta& other : deltas) {
            if (other.name == d.name && other.kind != d.kind) {
                throw UserError("macro " + d.name + " is both --set and --unset", kExitBadInput);
            }
        }
    }
    return deltas;
}

std::string ProfileSession::default_abi(const std::string& stack_backend,
                                        std::vector<std::string>& warnings) const {
    try {
        build::toolchain_for("ilp32", stack_backend);
        return "ilp32";
    } catch (const build::BuildError& e) {
        warnings.push_back(std::string(e.what()) +
                           "; recorded on the host ABI, whose 8-byte pointers overstate a 32-bit "
                           "device's heap");
        return "host";
    }
}

build::PreparedVariant ProfileSession::prepare(const std::string& config_file,
                                               const std::vector<build::ConfigDelta>& deltas,
                                               const std::string& abi,
                                               const std::string& stack_backend,
                                               bool real_pool) const {
    build::VariantSpec spec;
    spec.tree = tree_;
    spec.config_file = config_file;
    spec.deltas = deltas;
    spec.real_pool = real_pool;
    spec.abi = abi;
    spec.stack_backend = stack_backend;
    spec.extra_flags = variant_flags_from_environment();
    return builder_.prepare(spec);
}

build::PreparedVariant
ProfileSession::prepare_shared_library(const std::string& config_file) const {
    build::VariantSpec spec;
    spec.tree = tree_;
    spec.config_file = config_file;
    spec.shared_library = true;
    spec.abi = "host";
    return builder_.prepare(spec);
}

build::VariantBuild ProfileSession::build(const build::PreparedVariant& prepared) const {
    return builder_.build(prepared);
}

const build::VariantBuild& ProfileSession::peer_variant(bool early_data) {
    std::lock_guard<std::mutex> lock(peer_mutex_);
    std::optional<build::VariantBuild>& peer = early_data ? early_data_peer_ : peer_;
    if (!peer) {
        build::VariantSpec spec;
        spec.tree = tree_;
        spec.abi = "host";
        spec.extra_flags = variant_flags_from_environment();
        if (early_data) {
            // Off in mbedTLS's default config; the peer needs it to accept 0-RTT data.
            spec.deltas.push_back(build::ConfigDelta::parse_set(kEarlyDataMacro));
        }
        peer = builder_.build(builder_.prepare(spec));
    }
    return *peer;
}

void ProfileSession::resolve_peer(RecordSettings& s, const record::Scenario& scenario) const {
    if (!s.run.connect.empty()) {
        const auto colon = s.run.connect.rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == s.run.connect.size()) {
            throw UserError("--connect needs HOST:PORT, not '" + s.run.connect + "'",
                            kExitBadInput);
        }
        for (const std::string& ca : s.run.ca) {
            if (!fs::exists(ca)) {
                throw UserError("CA file " + ca + " does not exist", kExitBadInput);
            }
        }
        s.run.peer = "external";
    } else if (s.run.peer.empty()) {
        s.run.peer = scenario.peers.front();
    } else if (std::find(scenario.peers.begin(), scenario.peers.end(), s.run.peer) ==
               scenario.peers.end()) {
        throw UserError(
            "scenario " + scenario.name + " does not run against peer '" + s.run.peer +
                "' (it supports: " + fmt::format("{}", fmt::join(scenario.peers, ", ")) + ")",
            kExitBadInput);
    }
    const lifecycle::Lifecycle l = effective_lifecycle(s, scenario);
    if (l.connections > 1 && s.run.peer == "openssl") {
        // s_server answers one connection at a time, until it closes: a
        // second one that opens while the first is open would never be served.
        throw UserError(fmt::format("{} concurrent connections need the mbedTLS peer; openssl "
                                    "s_server serves one connection at a time (--reconnects "
                                    "works with it)",
                                    l.connections),
                        kExitBadInput);
    }
    if (const std::string problem = record::resumption_problem(scenario, l, s.run.peer);
        !problem.empty()) {
        throw UserError(problem, kExitBadInput);
    }
    record::check_descriptor_limit(l.connections);
}

record::RecordingRequest ProfileSession::recording_request(const RecordSettings& s,
                                                           const record::Scenario& scenario,
                                                           const VariantProfile& p,
                                                           const fs::path& work) {
    record::RecordingRequest request;
    request.scenario = scenario;
    request.settings = s.run;
    request.recorder = p.variant.recorder;
    request.runner = p.prepared.toolchain.runner;
    request.der = !p.prepared.macros.defines("MBEDTLS_PEM_PARSE_C");
    request.lifecycle = effective_lifecycle(s, scenario);
    if (s.run.peer == "mbedtls" || record::recorded_side(request) == record::Side::Server) {
        const build::VariantBuild& peer = peer_variant(request.lifecycle.early_data);
        request.peer_recorder = peer.recorder;
        request.peer_der = !peer.prepared.macros.defines("MBEDTLS_PEM_PARSE_C");
    }
    request.work_dir = work;
    return request;
}

void ProfileSession::record(const RecordSettings& s, const record::Scenario& scenario,
                            VariantProfile& p) {
    const lifecycle::Lifecycle lifecycle = effective_lifecycle(s, scenario);
    const std::string trace_path =
        trace_path_for(cache_, s, scenario.name, lifecycle, p.abi, p.variant.recorder_key);
    // A trace in the cache is shared by every tlsheap process recording the
    // same scenario of the same variant (tests and sweep shards run at once):
    // one writes and reads it at a time, so each report is from its own trace.
    // A holder that stopped (a suspended shell job) would block the others
    // for ever: they say whom they wait for, and give up after a bound.
    std::optional<build::FileLock> trace_lock;
    if (s.trace.empty()) {
        const auto bound = lock_wait_bound();
        try {
            trace_lock.emplace(build::FileLock::wait_for(trace_path + ".lock", bound,
                                                         std::chrono::seconds(2), progress_));
        } catch (const build::BuildError& e) {
            throw UserError(std::string(e.what()) + " (TLSHEAP_LOCK_TIMEOUT sets the wait)",
                            kExitFailed);
        }
        trace_lock->record_holder();
    }
    // One scratch directory per recording: cells of a sweep run at once.
    // Those of interrupted runs are removed by the next one.
    static std::once_flag cleaned;
    std::call_once(cleaned, [&] { remove_abandoned_scratch(cache_ / "runs"); });
    static std::atomic<unsigned> counter{0};
    std::optional<RunScratch> scratch;
    try {
        scratch.emplace(cache_ / "runs",
                        fmt::format("{}-{}-{}-{}", scenario.name, p.abi, ::getpid(), ++counter));
    } catch (const build::BuildError& e) {
        throw UserError(e.what(), kExitFailed);
    }
    const fs::path& work = scratch->path();

    record::RecordingRequest request = recording_request(s, scenario, p, work);
    request.trace = work / "trace.raw";
    request.meta = {
        {meta::kScenarioName, scenario.name},
        {meta::kScenarioJson, scenario.json},
        {meta::kPeer, s.run.peer},
        {meta::kMbedtlsTree, tree_.root.string()},
        {meta::kMbedtlsOrigin, tree_.origin},
        {meta::kConfigLabel, p.prepared.config_label},
        {meta::kConfigName, portable_config_label(p.prepared)},
        {meta::kConfigEffectiveFile, p.variant.effective_config.string()},
        // What `advise --verify` rebuilds from: the base and the deltas.
        {meta::kConfigBaseFile, p.prepared.spec.config_file.empty()
                                    ? std::string()
                                    : fs::absolute(p.prepared.spec.config_file).string()},
        {meta::kConfigDeltas, deltas_text(p.prepared.spec.deltas)}};
    if (s.run.connect_options.any()) {
        request.meta.emplace_back(meta::kConnectOptions, s.run.connect_options.summary());
    }
    if (progress_) {
        progress_("recording " + scenario.name + " (" + s.run.side + " side, ABI " + p.abi +
                  ") against the " + s.run.peer + " peer");
    }
    record::RecordingResult recording;
    try {
        recording = record::run_recording(request);
    } catch (const record::RecordError& e) {
        throw UserError(e.what(), e.exit_code() == 2 ? kExitBadInput : kExitFailed);
    } catch (const process::ProcessError& e) {
        throw UserError(e.what(), kExitFailed);
    }

    report::RunDescription& run = p.run;
    run.scenario = scenario.name;
    run.side = s.run.side;
    run.peer = recording.peer_description;
    run.mbedtls_version = tree_.version;
    run.mbedtls_origin = tree_.origin;
    run.abi = p.abi;
    run.config_label = p.prepared.config_label;
    run.config_name = portable_config_label(p.prepared);
    run.effective_config = p.variant.effective_config.string();
    run.overlay.clear();
    for (const build::ConfigDelta& d : p.prepared.overlay) {
        run.overlay.push_back(d.to_string());
    }
    run.variant_key = p.prepared.library_key;
    run.recorder_key = p.variant.recorder_key;
    run.recorder = p.variant.recorder.string();
    run.build_cached = p.variant.compiled_files == 0 && p.variant.reused_objects == 0;
    run.compiled_files = p.variant.compiled_files;
    run.reused_objects = p.variant.reused_objects;
    run.compiled_sources = p.variant.compiled_sources;
    run.build_seconds = p.variant.seconds;
    run.trace_path = trace_path;

    if (!fs::exists(request.trace)) {
        throw UserError(recording.error.empty() ? "the recorder wrote no trace" : recording.error,
                        recording.status == kRecorderUsage ? kExitBadInput : kExitFailed);
    }
    try {
        // Emulated programs load their libraries from the cross sysroot.
        const fs::path sysroot = request.runner.size() >= 3 && request.runner[1] == "-L"
                                     ? fs::path(request.runner[2])
                                     : fs::path();
        const auto finalized = symbolize::finalize_trace(
            request.trace, trace_path, tree_.root, sysroot,
            {{cache_, meta::kCachePath}, {tool_files().root, meta::kToolPath}},
            {cache_ / "symbols", {{p.variant.recorder, p.variant.recorder_key}}});
        if (finalized.resolved < finalized.addresses / 2) {
            run.warnings.push_back(fmt::format("only {} of {} return addresses were symbolized",
                                               finalized.resolved, finalized.addresses));
        }
    } catch (const trace::TraceError& e) {
        throw UserError(std::string("cannot finalize the recorder's trace: ") + e.what(),
                        kExitFailed);
    }
    run.trace_bytes = fs::file_size(trace_path);

    replay::ReplayOptions replay_options;
    for (const std::string& m : s.models) {
        replay_options.models.push_back(replay::ModelSpec::parse(m));
    }
    replay_options.pool_size = s.heap;
    p.result = replay::profile_trace(
        with_app_heap([&] { return std::make_unique<replay::TraceFileSource>(trace_path); },
                      s.app_heap),
        replay_options);
    p.recorded = true;
    if (recording.status != 0) {
        p.status = recording.status == kRecorderUsage ? kExitBadInput : kExitFailed;
        p.error = recording.error;
        if (const replay::Outcome* f = p.result.failure()) {
            p.failed_state = p.result.info.state_name(f->state);
        }
    }
}

std::vector<VariantProfile> ProfileSession::profile_variants(const VariantRequest& request,
                                                             RecordSettings& settings,
                                                             const record::Scenario& scenario) {
    // `profile --side` takes client or server only (checked by the command line).
    const record::Side side = tls::side_from_name(settings.run.side).value_or(record::Side::Server);
    std::vector<std::string> warnings;
    std::vector<std::string> abis = request.abis;
    if (abis.empty()) {
        abis.push_back(default_abi(request.stack_backend, warnings));
    }
    settings.several_traces = abis.size() > 1;
    std::vector<VariantProfile> profiles;
    try {
        // Every variant's effective config first: a config that lacks what
        // the scenario needs is refused before anything is compiled.
        for (const std::string& abi : abis) {
            if (std::any_of(profiles.begin(), profiles.end(),
                            [&](const VariantProfile& p) { return p.abi == abi; })) {
                continue;
            }
            VariantProfile p;
            p.abi = abi;
            p.run.warnings = warnings;
            p.prepared = prepare(request.config, request.deltas, abi, request.stack_backend,
                                 settings.run.real_pool > 0);
            if (const std::string missing =
                    record::missing_requirement(scenario, side, p.prepared.macros);
                !missing.empty()) {
                throw UserError("config " + p.prepared.config_label + " lacks " + missing +
                                    ", which scenario " + scenario.name + " needs (" +
                                    settings.run.side + " side)",
                                kExitBadInput);
            }
            if (effective_lifecycle(settings, scenario).early_data &&
                !p.prepared.macros.defines(kEarlyDataMacro)) {
                throw UserError(fmt::format("config {} lacks {}, which --early-data needs (add "
                                            "--set {})",
                                            p.prepared.config_label, kEarlyDataMacro,
                                            kEarlyDataMacro),
                                kExitBadInput);
            }
            profiles.push_back(std::move(p));
        }
        for (VariantProfile& p : profiles) {
            p.variant = build(p.prepared);
            progress_(p.variant.compiled_files == 0 && p.variant.reused_objects == 0
                          ? "variant " + p.prepared.library_key.substr(0, 12) + " (" + p.abi +
                                ") is cached: nothing to compile"
                          : fmt::format("variant {} ({}) built: {} files compiled{} in {:.1f} s",
                                        p.prepared.library_key.substr(0, 12), p.abi,
                                        p.variant.compiled_files,
                                        p.variant.reused_objects == 0
                                            ? ""
                                            : fmt::format(", {} objects from the object cache",
                                                          p.variant.reused_objects),
                                        p.variant.seconds));
        }
    } catch (const build::BuildError& e) {
        throw UserError(e.what(), kExitBadInput, e.details());
    }
    for (VariantProfile& p : profiles) {
        record(settings, scenario, p);
    }

    return profiles;
}

} // namespace tlsheap::pipeline
