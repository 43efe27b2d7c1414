// The heap profile of one recording, for people (a terminal table) and for
// programs (JSON with a schema_version; docs/json-schema/profile.schema.json).
#pragma once

#include "report/run_description.h"
#include "tlsheap/replay_engine.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace tlsheap::report {

inline constexpr int kProfileSchemaVersion = 1;

struct ReportOptions {
    unsigned top_sites = 10;
    bool show_models = true;
};

void print_profile(std::FILE* out, const RunDescription& run, const replay::ReplayResult& result,
                   const ReportOptions& options = {});

nlohmann::json profile_json(const RunDescription& run, const replay::ReplayResult& result,
                            const ReportOptions& options = {});

// "mbedtls_mpi_grow <- ecp_mul_comb <- mbedtls_ecp_mul_restartable": the call
// site and the functions that called it, up to `depth` distinct names.
std::string caller_chain(const trace::TraceInfo& info, std::uint32_t stack, unsigned depth);

} // namespace tlsheap::report
