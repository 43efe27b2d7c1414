// Runs a sweep's grid and produces its document (kind tlsheap.sweep). Used
// by `tlsheap sweep` and by `tlsheap gate` when it measures the current state
// itself.
#pragma once

#include "pipeline/profile_session.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tlsheap::pipeline {

// --repeat: runs per cell, from 1 to this.
inline constexpr unsigned kMostRepeats = 100;

struct SweepRequest {
    std::string mbedtls = "3.6";
    std::string abi; // "": the default (ilp32 where it builds)
    std::vector<std::string> config_files;
    std::vector<std::string> set;
    std::vector<std::string> unset;
    std::vector<std::string> vary;
    std::vector<std::string> scenarios = {"tls12-ecdhe-ecdsa-p256"};
    RecordSettings settings;
    unsigned jobs = 0; // 0: all cores
    std::string shard = "1/1";
    unsigned repeat = 1; // runs per cell; the median run is kept
    bool quiet = false;
};

// Throws UserError for unusable input (malformed --vary or --shard, unknown
// scenario, model or macro). A cell that cannot be built or whose handshake
// fails is a result in the document, not an error.
nlohmann::json run_sweep(const SweepRequest& request);

// The cells' live peak and first real model's min pool as a matrix (configs
// × scenarios), for the terminal.
void print_sweep_matrix(std::FILE* out, const nlohmann::json& sweep);

// A profile document without what a sweep does not need (time series, full
// stacks, the effective macro list): what sweeps and baselines embed.
nlohmann::json compact_profile(nlohmann::json profile);

} // namespace tlsheap::pipeline
