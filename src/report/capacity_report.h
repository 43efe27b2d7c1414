// `tlsheap capacity`'s answer: per model the most concurrent connections
// that fit in the heap, the footprint with that many, and the allocation
// that fails with one more; terminal table and JSON
// (docs/json-schema/capacity.schema.json).
#pragma once

#include "analysis/connection_capacity.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace tlsheap::report {

// Where the streams came from, for the header and the JSON `source`.
struct CapacitySource {
    std::string scenario;
    std::string side;
    std::string abi;
    std::string mbedtls_version;
    std::string config;
    std::string start; // "together" / "staggered"
    // "scenario": one recording per k; "trace": one recording restricted to its first k.
    std::string kind;
    std::string trace;                   // the trace given (kind "trace")
    std::uint32_t trace_connections = 0; // N of that trace
    std::string app_heap;                // the application's blocks (--app-heap), or ""
};

void print_capacity(std::FILE* out, const CapacitySource& source,
                    const analysis::CapacityResult& result);

nlohmann::json capacity_json(const CapacitySource& source, const analysis::CapacityResult& result);

// "2", or "at least 4" when every stream tried fit.
std::string capacity_answer(const analysis::ModelCapacity& m);

} // namespace tlsheap::report
