#include "analysis/allocation_failures.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fmt/format.h>

namespace tlsheap::analysis {

namespace {

using recorder_protocol::RunEnd;
using recorder_protocol::RunStatus;

constexpr long kStatusOk = static_cast<long>(RunStatus::Ok);
constexpr long kStatusTimeout = static_cast<long>(RunStatus::Timeout);
constexpr long kStatusTransport = static_cast<long>(RunStatus::Transport);

std::string signal_text(long sig) {
    const char* name = sigabbrev_np(static_cast<int>(sig));
    return name != nullptr ? fmt::format("SIG{}", name) : fmt::format("signal {}", sig);
}

void classify(ClassifiedInjection& c, const ErrorMeaning& meaning) {
    const record::InjectionRun& r = c.run;
    switch (r.end) {
    case RunEnd::Signal:
        c.kind = FailureClass::Crash;
        c.detail = signal_text(r.code) + (r.text.empty() ? "" : ": " + r.text);
        return;
    case RunEnd::Exited:
        c.kind = FailureClass::Crash;
        c.detail = fmt::format("exited with status {} without reporting{}", r.code,
                               r.text.empty() ? "" : ": " + r.text);
        return;
    case RunEnd::Stopped:
        c.kind = FailureClass::Hang;
        c.detail = fmt::format("still running after {} s", r.code);
        return;
    case RunEnd::Finished:
        break;
    }
    if (r.leaked_blocks > 0) {
        c.kind = FailureClass::Leak;
        c.detail = fmt::format("{} bytes in {} block{} after {}", r.leaked_bytes, r.leaked_blocks,
                               r.leaked_blocks == 1 ? "" : "s",
                               r.code == kStatusOk ? "success" : meaning.name(r.ret));
        return;
    }
    if (r.code == kStatusOk) {
        c.kind = FailureClass::Success;
        c.detail = "handshake and exchange completed";
        return;
    }
    if (r.code == kStatusTimeout) {
        c.kind = FailureClass::Hang;
        c.detail = "waited for the peer in vain: " + r.text;
        return;
    }
    if (r.code != kStatusTransport && meaning.out_of_memory(r.ret)) {
        c.kind = FailureClass::Clean;
        c.detail = meaning.name(r.ret);
        return;
    }
    c.kind = FailureClass::Hidden;
    c.detail = r.code == kStatusTransport ? r.text : meaning.name(r.ret);
}

} // namespace

const char* failure_class_name(FailureClass c) {
    switch (c) {
    case FailureClass::Clean:
        return "clean";
    case FailureClass::Hidden:
        return "hidden";
    case FailureClass::Success:
        return "success";
    case FailureClass::Leak:
        return "leak";
    case FailureClass::Hang:
        return "hang";
    case FailureClass::Crash:
        return "crash";
    }
    return "clean";
}

bool AllocationFailureSweep::findings() const {
    return counts[static_cast<std::size_t>(FailureClass::Leak)] +
               counts[static_cast<std::size_t>(FailureClass::Hang)] +
               counts[static_cast<std::size_t>(FailureClass::Crash)] >
           0;
}

const AllocationPoint* failed_point(const record::InjectionRun& run,
                                    const std::vector<AllocationPoint>& baseline, bool pools) {
    // A run that did not report failed the call it was given, if any.
    const std::uint64_t call = run.reported ? run.failed_call : (pools ? 0 : run.call);
    return call != 0 && call <= baseline.size() ? &baseline[call - 1] : nullptr;
}

AllocationFailureSweep classify_injections(const std::vector<record::InjectionRun>& runs,
                                           const std::vector<AllocationPoint>& baseline,
                                           const ErrorMeaning& meaning, bool pools) {
    static const AllocationPoint kNone{"(no allocation failed)", "", "", 0, 0};
    AllocationFailureSweep sweep;
    for (const record::InjectionRun& run : runs) {
        ClassifiedInjection c;
        c.run = run;
        classify(c, meaning);
        const AllocationPoint* point = failed_point(run, baseline, pools);
        const AllocationPoint& at = point != nullptr ? *point : kNone;
        if (run.reported && ((!pools && run.failed_call != run.call) ||
                             (point != nullptr && run.requested_bytes != point->bytes))) {
            ++sweep.diverged;
        }
        const std::uint64_t failed = run.reported ? run.failed_call : run.call;
        for (const std::uint64_t call : run.leak_calls) {
            // Blocks made before the failed call are the baseline's; later
            // ones were made on the error path, which the baseline never took.
            c.leak_sites.push_back((failed == 0 || call < failed) && call <= baseline.size()
                                       ? baseline[call - 1].site
                                       : fmt::format("call {}, on the error path", call));
        }
        const auto kind = static_cast<std::size_t>(c.kind);
        ++sweep.counts[kind];
        ++sweep.by_site[at.site][kind];
        ++sweep.by_state[at.state][kind];
        if (pools && point != nullptr) {
            std::uint64_t& largest = sweep.largest_failing_pool[at.state];
            largest = std::max(largest, run.call);
            sweep.largest_failed_pool = std::max(sweep.largest_failed_pool, run.call);
        }
        sweep.runs.push_back(std::move(c));
    }
    return sweep;
}

} // namespace tlsheap::analysis
