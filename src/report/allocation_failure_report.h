// `tlsheap oom`'s answer: the classes of the runs, per call site and per
// handshake state, and every finding (a run that did not end in a clean
// out-of-memory error) with the call that reproduces it; terminal and JSON
// (docs/json-schema/oom.schema.json).
#pragma once

#include "analysis/allocation_failures.h"
#include "report/run_description.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

namespace tlsheap::report {

struct PoolSweepRange {
    std::uint64_t high = 0; // the mbedtls-pool model's min pool
    std::uint64_t low = 0;
    std::uint64_t step = 0;
};

struct AllocationFailureSource {
    RunDescription run; // the baseline's
    std::uint64_t baseline_allocations = 0;
    std::uint64_t first_call = 0;
    std::uint64_t last_call = 0;
    std::optional<PoolSweepRange> pools; // a pool sweep (first/last_call unused)
    unsigned runners = 1;
    double seconds = 0;
};

void print_allocation_failures(std::FILE* out, const AllocationFailureSource& source,
                               const analysis::AllocationFailureSweep& sweep,
                               const std::vector<analysis::AllocationPoint>& points);

nlohmann::json allocation_failures_json(const AllocationFailureSource& source,
                                        const analysis::AllocationFailureSweep& sweep,
                                        const std::vector<analysis::AllocationPoint>& points);

} // namespace tlsheap::report
