// The heap profile of one recording, for people (a terminal table) and for
// programs (JSON with a schema_version; docs/json-schema/profile.schema.json).
#pragma once

#include "report/run_description.h"
#include "tlsheap/profile_document.h"
#include "tlsheap/replay_engine.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace tlsheap::report {

struct ReportOptions {
    unsigned top_sites = 10;
    bool show_models = true;
};

void print_profile(std::FILE* out, const RunDescription& run, const replay::ReplayResult& result,
                   const ReportOptions& options = {});

nlohmann::json profile_json(const RunDescription& run, const replay::ReplayResult& result,
                            const ReportOptions& options = {});

// One ABI's profile of the same scenario, for the side-by-side view.
struct AbiColumn {
    const RunDescription* run;
    const replay::ReplayResult* result;
};
void print_abi_comparison(std::FILE* out, const std::vector<AbiColumn>& columns);

// "ecp_mul_comb <- mbedtls_ecp_mul_restartable": the mbedTLS functions that
// called the call site, innermost first, up to `depth` distinct names.
std::string caller_chain(const trace::TraceInfo& info, std::uint32_t stack, unsigned depth);

} // namespace tlsheap::report
