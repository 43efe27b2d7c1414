// `tlsheap oom`: what mbedTLS did when each allocation of a handshake failed,
// classed, and counted per call site and per handshake state. The context of
// call k (site, state, bytes) is the baseline recording's k-th allocation:
// the runs are deterministic, so run k is the baseline up to call k.
#pragma once

#include "orchestration/injection_run.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tlsheap::analysis {

enum class FailureClass : std::uint8_t {
    Clean,   // an error that says out of memory, nothing leaked
    Hidden,  // another error: the out-of-memory is hidden from the caller
    Success, // the run succeeded anyway (a fallback path)
    Leak,    // blocks still allocated after every context was freed
    Hang,    // the watchdog stopped the run, or it waited for the peer in vain
    Crash,   // a signal, or a sanitizer's report
};
inline constexpr std::size_t kFailureClasses = 6;
const char* failure_class_name(FailureClass c);

// The baseline's allocation k (calls from 1).
struct AllocationPoint {
    std::string site;  // CallSite::label()
    std::string state; // handshake state in HANDSHAKE, else the phase
    std::string phase;
    std::uint32_t connection = 0;
    std::uint64_t bytes = 0;
};

// What mbedTLS's error codes mean (build::ErrorCodes of the tree).
struct ErrorMeaning {
    std::function<bool(int)> out_of_memory;
    std::function<std::string(int)> name;
};

struct ClassifiedInjection {
    record::InjectionRun run;
    FailureClass kind = FailureClass::Clean;
    std::string detail;                  // the error's name, the signal, ...
    std::vector<std::string> leak_sites; // per leaked block listed, its call site
};

using ClassCounts = std::array<std::uint64_t, kFailureClasses>;

struct AllocationFailureSweep {
    std::vector<ClassifiedInjection> runs; // by call
    ClassCounts counts{};
    std::map<std::string, ClassCounts> by_site;
    std::map<std::string, ClassCounts> by_state;
    // Runs whose failed call asked for other bytes than the baseline's: the
    // run was not the baseline's up to it (should never be).
    std::uint64_t diverged = 0;
    // A pool sweep's: per state of the failed call, the largest pool in
    // which the run failed there; and the largest pool that failed at all.
    std::map<std::string, std::uint64_t> largest_failing_pool;
    std::uint64_t largest_failed_pool = 0;
    // Any crash, hang or leak: `tlsheap oom` exits 1.
    bool findings() const;
};

// `pools`: the runs are a pool sweep's (InjectionRun::call is the pool
// size, the failed call is the first the pool refused).
AllocationFailureSweep classify_injections(const std::vector<record::InjectionRun>& runs,
                                           const std::vector<AllocationPoint>& baseline,
                                           const ErrorMeaning& meaning, bool pools = false);

// The baseline's call a run failed, null when it names none.
const AllocationPoint* failed_point(const record::InjectionRun& run,
                                    const std::vector<AllocationPoint>& baseline, bool pools);

} // namespace tlsheap::analysis
