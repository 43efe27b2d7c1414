// `tlsheap profile`: build the variant, record a real handshake against a
// real peer, symbolize, replay through the default models, report.
#pragma once

#include "pipeline/profile_session.h"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::cli {

struct ProfileOptions {
    std::string mbedtls = "3.6";
    std::string config;
    std::vector<std::string> set;
    std::vector<std::string> unset;
    std::string scenario = "tls12-ecdhe-ecdsa-p256";
    pipeline::RecordSettings settings; // bound to the options directly
    std::string json;
    std::string html;
    std::string format = "tlsheap";
    unsigned jobs = 0;
    std::vector<std::string> abis; // empty: ilp32 where it builds, else host
    std::string stack_backend;
    bool quiet = false;
    unsigned top = 10;
    // Over the scenario's lifecycle.
    std::optional<unsigned> connections;
    std::string start;
    std::optional<unsigned> reconnects;
    std::string heap; // --heap BYTES, checked by parse_heap_size
    std::string resume;
    bool early_data = false;
    std::string request; // --request as typed: connect_options.request once given
};

// --connections, --start, --reconnects, --resume and --early-data into
// `settings`. Throws UserError.
void apply_lifecycle_options(const ProfileOptions& o, pipeline::RecordSettings& settings);

void add_profile_command(CLI::App& app, int& exit_code);

} // namespace tlsheap::cli
