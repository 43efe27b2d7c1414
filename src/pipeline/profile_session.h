// The work behind every command that profiles: resolve a variant (tree,
// config, deltas, ABI), check it against a scenario, build it through the
// cache, record the scenario against a peer, symbolize, replay through the
// models and find each model's minimum pool. `profile` runs it once per ABI,
// `sweep` once per grid cell (cells in parallel), `gate` and `advise` on top.
#pragma once

#include "orchestration/recording_run.h"
#include "orchestration/run_settings.h"
#include "orchestration/scenario.h"
#include "report/run_description.h"
#include "tlsheap/replay_engine.h"
#include "variants/variant_builder.h"

#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::pipeline {

// The smallest pool mbedTLS's memory_buffer_alloc can hold its own block
// header in (below it, it silently leaves the pool unset): --real-pool's
// least, and where `oom --pool` stops.
inline constexpr std::uint64_t kSmallestRealPool = 128;

// How to run a scenario (everything but the variant): the user's run
// settings, passed on whole to the recording, and what to do with the trace.
struct RecordSettings {
    record::RunSettings run;
    std::vector<std::string> models = {"ideal", "mbedtls-pool"};
    std::optional<std::uint64_t> heap; // --heap: replay on a device heap of this size
    std::string trace;                 // "" : in the cache
    // Application blocks added to the stream before the replay (app_heap.h;
    // "" : none). The trace itself is the recording's.
    std::string app_heap;
    bool several_traces = false; // append the ABI to `trace`
};

// The scenario's lifecycle with the options over it.
lifecycle::Lifecycle effective_lifecycle(const RecordSettings& settings,
                                         const record::Scenario& scenario);

// One variant's profile of one scenario.
struct VariantProfile {
    std::string abi;
    build::PreparedVariant prepared;
    build::VariantBuild variant;
    report::RunDescription run;
    replay::ReplayResult result;
    bool recorded = false;
    int status = 0;           // kExitOk, kExitFailed or kExitBadInput
    std::string error;        // one line when status != 0
    std::string failed_state; // handshake state of a failed handshake
};

// What to profile: a config and its deltas, on one ABI or several side by side.
struct VariantRequest {
    std::string config; // "" : the tree's default
    std::vector<build::ConfigDelta> deltas;
    std::vector<std::string> abis; // empty: default_abi()
    std::string stack_backend;
};

class ProfileSession {
  public:
    using Progress = std::function<void(const std::string&)>;

    // Locates the mbedTLS tree. Throws UserError.
    ProfileSession(const std::string& mbedtls, unsigned jobs, Progress progress);

    const build::MbedtlsTree& tree() const { return tree_; }
    const std::filesystem::path& cache() const { return cache_; }

    // --set/--unset expressions, checked against the tree's macro names.
    std::vector<build::ConfigDelta> parse_deltas(const std::vector<std::string>& set,
                                                 const std::vector<std::string>& unset,
                                                 const std::string& config_file) const;

    // The ABI to use when none is given: ilp32 where it builds, else host
    // (with a warning in `warnings`).
    std::string default_abi(const std::string& stack_backend,
                            std::vector<std::string>& warnings) const;

    // Throws build::BuildError.
    build::PreparedVariant prepare(const std::string& config_file,
                                   const std::vector<build::ConfigDelta>& deltas,
                                   const std::string& abi, const std::string& stack_backend,
                                   bool real_pool) const;
    build::VariantBuild build(const build::PreparedVariant& prepared) const;
    // The library objects and the recording library a user's program links
    // (`build --export`). Throws build::BuildError.
    build::ProgramShim build_program_shim(const build::PreparedVariant& prepared) const {
        return builder_.build_program_shim(prepared);
    }
    // mbedTLS as a program's shared libraries were built from this tree with
    // `config_file` ("" : the tree's default), and the preload shim that
    // records them (`tlsheap record`). Throw build::BuildError.
    build::PreparedVariant prepare_shared_library(const std::string& config_file) const;
    std::filesystem::path build_preload_shim(const build::PreparedVariant& prepared) const {
        return builder_.build_preload_shim(prepared);
    }
    // The deterministic peer: the same tree with its default config, native
    // (plus MBEDTLS_SSL_EARLY_DATA for a run with early data). Built once.
    const build::VariantBuild& peer_variant(bool early_data = false);

    // Resolves the peer against the scenario (external when --connect), and
    // checks that the peer can serve the lifecycle. Throws UserError.
    void resolve_peer(RecordSettings& settings, const record::Scenario& scenario) const;

    // Records and replays; fills p.run, p.result, p.status/error. Safe to
    // call from several threads at once. Throws UserError for unusable input.
    void record(const RecordSettings& settings, const record::Scenario& scenario,
                VariantProfile& p);

    // What run_recording needs to run the scenario on p's variant, with
    // `work` as scratch space; no trace or meta yet.
    record::RecordingRequest recording_request(const RecordSettings& settings,
                                               const record::Scenario& scenario,
                                               const VariantProfile& p,
                                               const std::filesystem::path& work);

    // `profile`: every ABI's variant prepared first (a config that lacks what
    // the scenario needs is refused before anything compiles), then built,
    // recorded and replayed, one profile per ABI. Throws UserError.
    std::vector<VariantProfile> profile_variants(const VariantRequest& request,
                                                 RecordSettings& settings,
                                                 const record::Scenario& scenario);

  private:
    std::filesystem::path cache_;
    unsigned jobs_;
    Progress progress_;
    build::MbedtlsTree tree_;
    build::VariantBuilder builder_;
    std::optional<build::VariantBuild> peer_;
    std::optional<build::VariantBuild> early_data_peer_; // with MBEDTLS_SSL_EARLY_DATA
    std::mutex peer_mutex_;
};

// A short form of a config for keys that must match across machines: the
// config file's name (not its path) and the deltas.
std::string portable_config_label(const build::PreparedVariant& prepared);

} // namespace tlsheap::pipeline
