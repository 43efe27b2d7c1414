#include "pipeline/allocation_failure_sweep.h"

#include "orchestration/record_error.h"
#include "pipeline/run_scratch.h"
#include "process/child_process.h"
#include "tlsheap/trace_walker.h"
#include "tlsheap/user_error.h"
#include "variants/build_error.h"
#include "variants/mbedtls_error_codes.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace tlsheap::pipeline {

namespace {

// Call k of the baseline: the k-th Alloc record, NULL returns included
// (each is one call of mbedtls_calloc).
class AllocationPoints final : public trace::WalkerHooks {
  public:
    explicit AllocationPoints(const trace::TraceWalker& walker) : walker_(walker) {}
    void on_alloc(const trace::Record& r, const trace::LiveAllocation* /*block*/,
                  std::uint32_t /*slot*/) override {
        const trace::TraceInfo& info = walker_.info();
        analysis::AllocationPoint p;
        p.site = info.call_site(r.stack).label();
        // Outside the handshake the phase says more than the state a
        // context was left in.
        p.phase = trace::phase_name(walker_.phase());
        p.state =
            walker_.phase() == trace::Phase::Handshake ? info.state_name(walker_.state()) : p.phase;
        p.connection = walker_.connection();
        p.bytes = r.bytes_asked();
        points.push_back(std::move(p));
    }
    std::vector<analysis::AllocationPoint> points;

  private:
    const trace::TraceWalker& walker_;
};

std::vector<analysis::AllocationPoint> allocation_points(const std::string& trace_path) {
    trace::TraceReader reader(trace_path);
    trace::TraceWalker walker;
    AllocationPoints points(walker);
    walker.walk(reader, points);
    return std::move(points.points);
}

// One client/peer pair's share of the calls, and what it printed.
struct RunnerShare {
    record::RecordingRequest request;
    std::vector<record::InjectionRun> runs;
    std::string error;
};

void run_share(RunnerShare& share) {
    try {
        const record::RecordingResult result = record::run_recording(share.request);
        std::istringstream lines(result.output);
        std::string line;
        while (std::getline(lines, line)) {
            if (auto run = record::parse_injection_line(line)) {
                share.runs.push_back(std::move(*run));
            }
        }
        if (result.status != 0) {
            share.error = result.error;
        }
    } catch (const record::RecordError& e) {
        share.error = e.what();
    } catch (const process::ProcessError& e) {
        share.error = e.what();
    }
}

} // namespace

AllocationFailureResult sweep_allocation_failures(ProfileSession& session,
                                                  AllocationFailureRequest& request,
                                                  const record::Scenario& scenario) {
    RecordSettings& s = request.settings;
    if (s.run.side != "client") {
        throw UserError("oom fails the client's allocations; --side " + s.run.side +
                            " is not supported",
                        kExitBadInput);
    }
    if (s.run.peer != "mbedtls") {
        throw UserError("oom needs the deterministic mbedTLS peer (--peer mbedtls), not " +
                            s.run.peer +
                            ": another peer answers differently each run, so run k would not "
                            "repeat the baseline up to call k",
                        kExitBadInput);
    }
    AllocationFailureResult result;
    std::vector<VariantProfile> profiles = session.profile_variants(request.variant, s, scenario);
    if (profiles.size() != 1) {
        throw UserError("oom runs on one ABI at a time", kExitBadInput);
    }
    result.baseline = std::move(profiles.front());
    const VariantProfile& baseline = result.baseline;
    if (baseline.status != kExitOk) {
        throw UserError("the baseline recording failed, so there is nothing to fail: " +
                            baseline.error,
                        baseline.status);
    }
    result.points = allocation_points(baseline.run.trace_path);
    const std::uint64_t total = result.points.size();
    if (total == 0) {
        throw UserError("the baseline recording made no allocation", kExitFailed);
    }
    std::uint64_t first = 1;
    std::uint64_t last = total;
    // The runs' recorder: the baseline's, or for pools one built with
    // memory_buffer_alloc (the same calls, the allocator behind them).
    VariantProfile runs_variant = baseline;
    if (request.pools) {
        const auto min_pool = baseline.result.min_pools.find("mbedtls-pool");
        if (min_pool == baseline.result.min_pools.end() || min_pool->second == 0) {
            throw UserError("the mbedtls-pool model found no min pool for the baseline",
                            kExitFailed);
        }
        PoolRange range;
        range.step = baseline.result.info.pointer_size();
        range.high = min_pool->second;
        range.low = kSmallestRealPool + (range.high - kSmallestRealPool) % range.step;
        result.pools = range;
        first = 1;
        last = (range.high - range.low) / range.step + 1;
        try {
            runs_variant.prepared =
                session.prepare(request.variant.config, request.variant.deltas, baseline.abi,
                                request.variant.stack_backend, true);
            runs_variant.variant = session.build(runs_variant.prepared);
        } catch (const build::BuildError& e) {
            throw UserError(e.what(), kExitBadInput, e.details());
        }
    } else if (request.calls) {
        std::tie(first, last) = *request.calls;
        if (first == 0 || last < first || last > total) {
            throw UserError(fmt::format("--calls {}-{} is outside the baseline's {} allocations "
                                        "(1-{})",
                                        first, last, total, total),
                            kExitBadInput);
        }
    }

    const std::uint64_t count = last - first + 1;
    // (The baseline's recording removed abandoned scratch directories.)
    const unsigned runners =
        static_cast<unsigned>(std::clamp<std::uint64_t>(request.runners, 1, count));
    result.runners = runners;
    std::vector<std::unique_ptr<RunScratch>> scratch;
    std::vector<RunnerShare> shares(runners);
    for (unsigned j = 0; j < runners; ++j) {
        try {
            scratch.push_back(std::make_unique<RunScratch>(
                session.cache() / "runs",
                fmt::format("oom-{}-{}-{}-{}", scenario.name, baseline.abi, ::getpid(), j)));
        } catch (const build::BuildError& e) {
            throw UserError(e.what(), kExitFailed);
        }
        record::RecordingRequest& r = shares[j].request;
        r = session.recording_request(s, scenario, runs_variant, scratch.back()->path());
        r.record = false;
        if (result.pools) {
            // Runner j takes every runners-th size, from the j-th below the top.
            const PoolRange& p = *result.pools;
            r.sweep.pool_high = p.high - j * p.step;
            r.sweep.pool_low = p.low;
            r.sweep.pool_step = p.step * runners;
        } else {
            r.sweep.fail_first = first + j;
            r.sweep.fail_last = last;
            r.sweep.fail_step = runners;
        }
    }
    const auto start = std::chrono::steady_clock::now();
    {
        std::vector<std::jthread> threads;
        for (RunnerShare& share : shares) {
            threads.emplace_back([&share] { run_share(share); });
        }
    }
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::vector<record::InjectionRun> runs;
    for (RunnerShare& share : shares) {
        if (!share.error.empty()) {
            throw UserError("the out-of-memory sweep failed: " + share.error, kExitFailed);
        }
        runs.insert(runs.end(), share.runs.begin(), share.runs.end());
    }
    if (runs.size() != count) {
        throw UserError(
            fmt::format("the out-of-memory sweep reported {} of {} runs", runs.size(), count),
            kExitFailed);
    }
    // By call; a pool sweep's from the largest pool down.
    std::sort(runs.begin(), runs.end(), [&](const auto& a, const auto& b) {
        return result.pools ? a.call > b.call : a.call < b.call;
    });
    const build::ErrorCodes codes = build::ErrorCodes::of_tree(session.tree());
    const analysis::ErrorMeaning meaning{[&](int ret) { return codes.out_of_memory(ret); },
                                         [&](int ret) { return codes.name(ret); }};
    result.sweep =
        analysis::classify_injections(runs, result.points, meaning, result.pools.has_value());
    return result;
}

} // namespace tlsheap::pipeline
