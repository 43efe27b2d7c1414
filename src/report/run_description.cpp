#include "report/run_description.h"

#include "tlsheap/trace_meta.h"

#include <filesystem>

namespace tlsheap::report {

RunDescription run_of_trace(const trace::TraceInfo& info, const std::string& command,
                            const std::string& trace_path) {
    namespace meta = trace::meta;
    RunDescription run;
    run.command = command;
    run.scenario = info.meta(meta::kScenarioName);
    run.program = info.meta(meta::kProgram);
    run.side = info.meta(meta::kRecorderSide);
    run.peer = info.meta(meta::kPeer);
    run.mbedtls_version = info.meta(meta::kMbedtlsVersion);
    run.mbedtls_origin = info.meta(meta::kMbedtlsOrigin);
    run.abi = info.meta(meta::kAbi);
    run.config_label = info.meta(meta::kConfigLabel);
    run.config_name = info.meta(meta::kConfigName);
    run.effective_config = info.meta(meta::kConfigEffectiveFile);
    run.variant_key = info.meta(meta::kVariantKey);
    run.build_cached = true;
    run.trace_path = trace_path;
    std::error_code no_size; // a trace read from a pipe has none
    const std::uintmax_t trace_bytes = std::filesystem::file_size(trace_path, no_size);
    run.trace_bytes = no_size ? 0 : trace_bytes;
    return run;
}

} // namespace tlsheap::report
