#include "tlsheap/min_pool.h"
#include "tlsheap/trace_reader.h"

#include <algorithm>

namespace tlsheap::replay {

namespace {

struct Probe {
    bool runs = false;
    unsigned pointer_size = 8;
    std::optional<ModelFailure> first_failure;
    ModelRun run;
    std::uint64_t live_peak = 0;
};

Probe replay_once(const SourceFactory& open, const ModelSpec& spec,
                  std::optional<std::uint64_t> pool) {
    const std::unique_ptr<RecordSource> source = open();
    ReplayOptions options;
    options.models = {spec};
    options.pool_size = pool;
    options.heap_verdicts = false;
    options.series_points = 1;
    options.max_findings = 1;
    ReplayResult result = replay_trace(*source, options);
    Probe p;
    p.pointer_size = result.info.pointer_size();
    p.run = std::move(result.models.front());
    p.runs = p.run.failure_count == 0;
    if (!p.run.failures.empty()) {
        p.first_failure = p.run.failures.front();
    }
    p.live_peak = result.live_peak.bytes;
    return p;
}

} // namespace

std::vector<MinPoolResult> find_min_pools(const std::string& trace_path,
                                          const std::vector<ModelSpec>& models) {
    return find_min_pools([&] { return std::make_unique<TraceFileSource>(trace_path); }, models);
}

std::vector<MinPoolResult> find_min_pools(const SourceFactory& open,
                                          const std::vector<ModelSpec>& models) {
    std::vector<MinPoolResult> results;
    for (const ModelSpec& spec : models) {
        MinPoolResult m;
        const Probe unbounded = replay_once(open, spec, std::nullopt);
        m.model = unbounded.run.name;
        m.live_peak = unbounded.live_peak;
        m.replays = 1;
        // What the model says about its pool sizes, from a throwaway instance.
        ModelContext context;
        context.pointer_size = unbounded.pointer_size;
        const auto probe_model = make_model(spec, context);
        m.granularity = std::max<std::uint64_t>(1, probe_model->pool_granularity());
        const std::uint64_t step = m.granularity;

        if (unbounded.run.placement_independent_of_pool_end) {
            // One replay gives the smallest pool that reproduces the
            // unbounded placements; every larger pool places the same. First
            // fit is not monotonic below it (a tail handed out whole and freed
            // again sits elsewhere in the free list), so step down one
            // granularity at a time while the trace still runs: the answer is
            // the smallest size from which every larger pool runs.
            m.method = "one pass";
            m.placement_bound = unbounded.run.min_pool_one_pass;
            std::uint64_t candidate = m.placement_bound;
            while (candidate >= step + probe_model->smallest_pool()) {
                Probe below = replay_once(open, spec, candidate - step);
                ++m.replays;
                if (!below.runs) {
                    break;
                }
                candidate -= step;
            }
            m.min_pool = candidate;
        } else {
            // Bisection on multiples of the granularity. Assumes that a
            // pool that runs the trace keeps running it when it grows,
            // which the check below confirms at the boundary it finds.
            m.method = "search";
            std::uint64_t lo = std::max<std::uint64_t>(probe_model->smallest_pool(), 1);
            std::uint64_t hi = std::max(unbounded.run.footprint, lo) * 2 + 1024;
            if (const auto largest = probe_model->largest_pool()) {
                hi = std::min(hi, *largest);
            }
            lo = (lo + step - 1) / step * step;
            hi = hi / step * step;
            Probe top = replay_once(open, spec, hi);
            ++m.replays;
            if (!top.runs) {
                // Not even the largest pool the allocator supports holds it.
                m.min_pool = 0;
                m.fails_below = top.first_failure;
                m.description = top.run.description;
                results.push_back(std::move(m));
                continue;
            }
            while (lo < hi) {
                const std::uint64_t mid = (lo / step + (hi - lo) / step / 2) * step;
                Probe p = replay_once(open, spec, mid);
                ++m.replays;
                if (p.runs) {
                    hi = mid;
                } else {
                    lo = mid + step;
                }
            }
            m.min_pool = hi;
        }
        const Probe at = replay_once(open, spec, m.min_pool);
        ++m.replays;
        m.runs_at_min_pool = at.runs;
        m.description = at.run.description;
        if (m.min_pool >= step + probe_model->smallest_pool()) {
            const Probe below = replay_once(open, spec, m.min_pool - step);
            ++m.replays;
            m.fails_below = below.first_failure;
        }
        results.push_back(std::move(m));
    }
    return results;
}

} // namespace tlsheap::replay
