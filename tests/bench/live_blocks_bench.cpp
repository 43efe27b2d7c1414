// Replay time against the number of blocks alive at once: a trace that holds
// N blocks (N = 5k, 20k, 40k, 80k), frees every other one, allocates as many
// again and frees everything (tests/replay/models/live_blocks_script.h),
// replayed through the engine by one model at a time: unbounded (`replay`),
// in a pool with the heap verdicts (`replay --pool`), and the min pool
// search (`minpool`). Work per event that grows with the live blocks shows as
// time growing faster than N. umm's heap (at most 32,768 blocks of 8 bytes)
// holds only a few thousand such blocks: it runs again with blocks of at most
// 40 bytes and N = 1k, 2k, 4k, 8k (the `_small` cases).
#include "live_blocks_script.h"
#include "tlsheap/min_pool.h"
#include "tlsheap/replay_engine.h"
#include "trace_builder.h"
#include "transforms/transform_trace_builder.h"

#include <benchmark/benchmark.h>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace tlsheap;

// Handshake-like sizes up to 700 bytes; umm's `_small` cases pass kSmallLargest.
constexpr std::uint64_t kLargest = 700;
constexpr std::uint64_t kSmallLargest = 40;

const std::vector<unsigned char>& live_blocks_trace(unsigned live, std::uint64_t largest) {
    static std::map<std::pair<unsigned, std::uint64_t>, std::vector<unsigned char>> traces;
    auto [it, fresh] = traces.try_emplace({live, largest});
    if (!fresh)
        return it->second;
    testing::TraceBuilder b;
    b.meta(trace::meta::kPointerSize, "4");
    b.phase(trace::Phase::Setup);
    // Recorded addresses only need to be distinct while live: one per id.
    const auto address = [](std::uint32_t id) { return 0x100000 + std::uint64_t{id} * 1024; };
    for (const replay::testing::ScriptEvent& e :
         replay::testing::live_blocks_script(live, largest)) {
        if (e.allocate)
            b.alloc(e.size, address(e.id));
        else
            b.free(address(e.id));
    }
    b.phase(trace::Phase::Teardown);
    it->second = b.finish();
    return it->second;
}

replay::ReplayResult replay_bytes(const std::vector<unsigned char>& bytes,
                                  const replay::ReplayOptions& options) {
    auto reader = trace::TraceReader::from_bytes(bytes);
    return replay::replay_trace(*reader, options);
}

void BM_Replay(benchmark::State& state, const std::string& model, std::uint64_t largest) {
    const auto& bytes = live_blocks_trace(static_cast<unsigned>(state.range(0)), largest);
    replay::ReplayOptions options;
    options.models = {replay::ModelSpec::parse(model)};
    std::uint64_t footprint = 0;
    for (auto _ : state)
        footprint = replay_bytes(bytes, options).models.front().footprint;
    state.counters["footprint"] = static_cast<double>(footprint);
}

// A pool of twice the live peak, which every model but umm (at most 256 KiB)
// runs the trace in: heap figures after every allocation (the heap verdicts).
void BM_ReplayInPool(benchmark::State& state, const std::string& model, std::uint64_t largest) {
    const auto& bytes = live_blocks_trace(static_cast<unsigned>(state.range(0)), largest);
    replay::ReplayOptions options;
    options.models = {replay::ModelSpec::parse(model)};
    options.pool_size = 2 * replay_bytes(bytes, options).live_peak.bytes;
    std::uint64_t failures = 0;
    for (auto _ : state)
        failures = replay_bytes(bytes, options).models.front().failure_count;
    state.counters["failures"] = static_cast<double>(failures);
}

void BM_MinPool(benchmark::State& state, const std::string& model, std::uint64_t largest) {
    const auto bytes = live_blocks_trace(static_cast<unsigned>(state.range(0)), largest);
    const auto open = [&bytes] { return testing::OwnedTraceSource::from_bytes(bytes); };
    replay::MinPoolResult result;
    for (auto _ : state)
        result = replay::find_min_pools(open, {replay::ModelSpec::parse(model)}).front();
    state.counters["min_pool"] = static_cast<double>(result.min_pool);
    state.counters["replays"] = result.replays;
}

void live_counts(benchmark::internal::Benchmark* b) {
    for (int live : {5'000, 20'000, 40'000, 80'000})
        b->Arg(live);
    b->Unit(benchmark::kMillisecond)->Iterations(1);
}

void small_live_counts(benchmark::internal::Benchmark* b) {
    for (int live : {1'000, 2'000, 4'000, 8'000})
        b->Arg(live);
    b->Unit(benchmark::kMillisecond)->Iterations(1);
}

#define TLSHEAP_LIVE_BLOCKS_BENCH(kind)                                                            \
    BENCHMARK_CAPTURE(kind, ideal, std::string("ideal"), kLargest)->Apply(live_counts);            \
    BENCHMARK_CAPTURE(kind, mbedtls_pool, std::string("mbedtls-pool"), kLargest)                   \
        ->Apply(live_counts);                                                                      \
    BENCHMARK_CAPTURE(kind, freertos_heap4, std::string("freertos-heap4"), kLargest)               \
        ->Apply(live_counts);                                                                      \
    BENCHMARK_CAPTURE(kind, esp_tlsf, std::string("esp-tlsf"), kLargest)->Apply(live_counts);      \
    BENCHMARK_CAPTURE(kind, umm, std::string("umm"), kLargest)->Apply(live_counts);                \
    BENCHMARK_CAPTURE(kind, umm_small, std::string("umm"), kSmallLargest)                          \
        ->Apply(small_live_counts);                                                                \
    BENCHMARK_CAPTURE(kind, umm_first_fit_small, std::string("umm:fit=first"), kSmallLargest)      \
        ->Apply(small_live_counts)

TLSHEAP_LIVE_BLOCKS_BENCH(BM_Replay);
TLSHEAP_LIVE_BLOCKS_BENCH(BM_ReplayInPool);
TLSHEAP_LIVE_BLOCKS_BENCH(BM_MinPool);

} // namespace

BENCHMARK_MAIN();
