// `tlsheap oom`: records the scenario once (the baseline, which names every
// allocation's site and state), then runs it again once for every
// allocation k with call k of mbedtls_calloc failing (or once per pool size
// on mbedTLS's own allocator), and classes each run.
// The runs are forked by the recorder from one started process (many runs
// per process), against an mbedTLS peer that forks a fresh run for every
// connection, in `runners` client/peer pairs at once.
#pragma once

#include "analysis/allocation_failures.h"
#include "pipeline/profile_session.h"

#include <cstdint>
#include <optional>
#include <utility>

namespace tlsheap::pipeline {

struct AllocationFailureRequest {
    VariantRequest variant;
    RecordSettings settings;
    // Calls to fail (from 1, inclusive); none: every allocation of the baseline.
    std::optional<std::pair<std::uint64_t, std::uint64_t>> calls;
    // Instead of failing calls: run on mbedTLS's memory_buffer_alloc with
    // every pool size from the mbedtls-pool model's min pool down to the
    // smallest pool the allocator takes, one alignment step apart.
    bool pools = false;
    unsigned runners = 2;
};

struct PoolRange {
    std::uint64_t high = 0; // the model's min pool: the first run must fit
    std::uint64_t low = 0;
    std::uint64_t step = 0; // the allocator's alignment
};

struct AllocationFailureResult {
    VariantProfile baseline;
    std::vector<analysis::AllocationPoint> points; // the baseline's allocations, by call
    std::optional<PoolRange> pools;                // a pool sweep's range
    analysis::AllocationFailureSweep sweep;
    unsigned runners = 1; // client/peer pairs that ran at once
    double seconds = 0;   // the sweep's wall time (the baseline's not counted)
};

// Throws UserError: a scenario or peer the sweep cannot use, a baseline
// that fails, a range beyond the baseline's allocations.
AllocationFailureResult sweep_allocation_failures(ProfileSession& session,
                                                  AllocationFailureRequest& request,
                                                  const record::Scenario& scenario);

} // namespace tlsheap::pipeline
