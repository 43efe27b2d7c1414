// What produced a replay result: the variant, the scenario, the peer, the
// build and recording figures. The profile report prints it above the
// numbers, and writes it into the JSON.
#pragma once

#include "tlsheap/trace_info.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tlsheap::report {

struct RunDescription {
    std::string command = "profile";
    std::string scenario;
    std::string program; // a user's program (`tlsheap record`): the name it was run by
    std::string side;    // "client" | "server"
    std::string peer;    // description of the other end
    std::string mbedtls_version;
    std::string mbedtls_origin;
    std::string abi;
    std::string config_label;         // the user's config and deltas
    std::string config_name;          // the same, without machine paths: a grid key
    std::string effective_config;     // path of the config.h built
    std::vector<std::string> overlay; // what tlsheap added
    // One name per hash: the variant is the mbedTLS build with its config
    // (the trace's variant.key), the recorder that build linked with ours.
    std::string variant_key;
    std::string recorder_key; // empty for a replay
    std::string recorder;     // the variant's recorder executable
    bool build_cached = false;
    std::uint64_t compiled_files = 0;
    std::uint64_t reused_objects = 0;          // taken from the object cache in this build
    std::vector<std::string> compiled_sources; // file names, as compiled in this run
    double build_seconds = 0;
    std::string trace_path;
    std::uint64_t trace_bytes = 0;
    std::vector<std::string> warnings;
};

// A replay's run: what the trace at `trace_path` says about itself (its
// variant, scenario and peer), for `command` (replay, report, compare).
RunDescription run_of_trace(const trace::TraceInfo& info, const std::string& command,
                            const std::string& trace_path);

} // namespace tlsheap::report
