#include "tlsheap/bare_model_replay.h"
#include "tlsheap/min_pool.h"
#include "tlsheap/trace_reader.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <system_error>
#include <thread>

namespace tlsheap::replay {

std::vector<MinPoolResult> find_min_pools(const std::string& trace_path,
                                          const std::vector<ModelSpec>& models) {
    return find_min_pools([&] { return std::make_unique<TraceFileSource>(trace_path); }, models);
}

std::vector<MinPoolResult> find_min_pools(const SourceFactory& open,
                                          const std::vector<ModelSpec>& models) {
    const std::unique_ptr<RecordSource> source = open();
    return find_min_pools(read_allocation_stream(*source), models);
}

std::vector<MinPoolResult> find_min_pools(const AllocationStream& stream,
                                          const std::vector<ModelSpec>& models) {
    return find_min_pools(
        [&stream](const ModelSpec& spec, std::optional<std::uint64_t> pool) {
            return replay_bare_model(stream, spec, pool);
        },
        stream.pointer_size(), stream.live_peak(), models);
}

namespace {

// The search for one model.
MinPoolResult search_min_pool(const ModelReplay& replay_once, unsigned pointer_size,
                              std::uint64_t live_peak, const ModelSpec& spec) {
    MinPoolResult m;
    const BareModelRun unbounded = replay_once(spec, std::nullopt);
    m.model = unbounded.name;
    m.live_peak = live_peak;
    m.replays = 1;
    // What the model says about its pool sizes, from a throwaway instance.
    ModelContext context;
    context.pointer_size = pointer_size;
    const auto probe_model = make_model(spec, context);
    m.granularity = std::max<std::uint64_t>(1, probe_model->pool_granularity());
    const std::uint64_t step = m.granularity;

    if (unbounded.placement_independent_of_pool_end) {
        // One replay gives the smallest pool that reproduces the
        // unbounded placements; every larger pool places the same. First
        // fit is not monotonic below it (a tail handed out whole and freed
        // again sits elsewhere in the free list), so step down one
        // granularity at a time while the trace still runs: the answer is
        // the smallest size from which every larger pool runs.
        m.method = "one pass";
        m.placement_bound = unbounded.min_pool_one_pass;
        std::uint64_t candidate = m.placement_bound;
        while (candidate >= step + probe_model->smallest_pool()) {
            BareModelRun below = replay_once(spec, candidate - step);
            ++m.replays;
            if (!below.runs()) {
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
        std::uint64_t hi = std::max(unbounded.footprint, lo) * 2 + 1024;
        if (const auto largest = probe_model->largest_pool()) {
            hi = std::min(hi, *largest);
        }
        lo = (lo + step - 1) / step * step;
        hi = hi / step * step;
        BareModelRun top = replay_once(spec, hi);
        ++m.replays;
        if (!top.runs()) {
            // Not even the largest pool the allocator supports holds it.
            m.min_pool = 0;
            m.fails_below = top.first_failure;
            m.description = top.description;
            return m;
        }
        while (lo < hi) {
            const std::uint64_t mid = (lo / step + (hi - lo) / step / 2) * step;
            BareModelRun p = replay_once(spec, mid);
            ++m.replays;
            if (p.runs()) {
                hi = mid;
            } else {
                lo = mid + step;
            }
        }
        m.min_pool = hi;
    }
    const BareModelRun at = replay_once(spec, m.min_pool);
    ++m.replays;
    m.runs_at_min_pool = at.runs();
    m.description = at.description;
    if (m.min_pool >= step + probe_model->smallest_pool()) {
        const BareModelRun below = replay_once(spec, m.min_pool - step);
        ++m.replays;
        m.fails_below = below.first_failure;
    }
    return m;
}

} // namespace

std::vector<MinPoolResult> find_min_pools(const ModelReplay& replay_once, unsigned pointer_size,
                                          std::uint64_t live_peak,
                                          const std::vector<ModelSpec>& models) {
    // The models' searches are independent: one thread each, up to the
    // cores there are (the replays only read the recording).
    std::vector<MinPoolResult> results(models.size());
    std::vector<std::exception_ptr> failures(models.size());
    std::atomic<std::size_t> next{0};
    auto work = [&] {
        for (std::size_t i = next++; i < models.size(); i = next++) {
            try {
                results[i] = search_min_pool(replay_once, pointer_size, live_peak, models[i]);
            } catch (...) {
                failures[i] = std::current_exception();
            }
        }
    };
    const std::size_t threads =
        std::min<std::size_t>(models.size(), std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> helpers;
    try {
        for (std::size_t t = 1; t < threads; ++t) {
            helpers.emplace_back(work);
        }
    } catch (const std::system_error&) {
        // No more threads to be had: those started and this one share the work.
    }
    work();
    for (std::thread& helper : helpers) {
        helper.join();
    }
    for (const std::exception_ptr& failure : failures) {
        if (failure) {
            std::rethrow_exception(failure);
        }
    }
    return results;
}

} // namespace tlsheap::replay
