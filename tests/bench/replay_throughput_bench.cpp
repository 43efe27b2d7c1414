// Replay throughput: a synthetic trace of at least 10 million events (a real
// recorded handshake, repeated) streamed from a file through the replay
// engine, one allocator model at a time, on one core. Reports events per
// second per model and the process's peak memory, which must follow the live
// blocks (a few hundred), not the trace length.
#include "repeated_trace.h"
#include "tlsheap/min_pool.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap_version.h"

#include <benchmark/benchmark.h>
#include <cstdio>
#include <filesystem>
#include <sys/resource.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace tlsheap;

constexpr std::uint64_t kMinEvents = 10'000'000;

struct Synthetic {
    std::string path;
    std::uint64_t events = 0;
    std::uint64_t repetitions = 0;
};

// The committed sample's connection, repeated to at least kMinEvents events.
const Synthetic& synthetic() {
    static const Synthetic s = [] {
        Synthetic s;
        s.path = (fs::temp_directory_path() /
                  ("tlsheap-replay-bench-" + std::to_string(::getpid()) + ".trace"))
                     .string();
        const bench::RepeatedTrace t = bench::write_repeated_trace(
            std::string(kBuildSourceDir) + "/traces/tls12-ecdhe-ecdsa-p256.trace", kMinEvents,
            s.path);
        s.events = t.events;
        s.repetitions = t.repetitions;
        std::fprintf(stderr, "synthetic trace: %llu events (%llu handshakes), %llu MB\n",
                     static_cast<unsigned long long>(s.events),
                     static_cast<unsigned long long>(s.repetitions),
                     static_cast<unsigned long long>(fs::file_size(s.path) >> 20));
        return s;
    }();
    return s;
}

long max_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

void BM_DecodeOnly(benchmark::State& state) {
    const Synthetic& s = synthetic();
    for (auto _ : state) {
        trace::TraceReader reader(s.path);
        trace::Record r;
        std::uint64_t n = 0;
        while (reader.next(r)) {
            n += r.tag == trace::Tag::Alloc;
        }
        benchmark::DoNotOptimize(n);
    }
    state.counters["events/s"] = benchmark::Counter(
        static_cast<double>(s.events * state.iterations()), benchmark::Counter::kIsRate);
}

void BM_ReplayModel(benchmark::State& state, const std::string& model) {
    const Synthetic& s = synthetic();
    replay::ReplayOptions options;
    if (!model.empty()) {
        options.models = {replay::ModelSpec::parse(model)};
    }
    std::uint64_t footprint = 0;
    for (auto _ : state) {
        trace::TraceReader reader(s.path);
        const replay::ReplayResult result = replay::replay_trace(reader, options);
        if (result.events != s.events || !result.complete) {
            state.SkipWithError("replay did not read the whole trace");
            return;
        }
        footprint =
            result.models.empty() ? result.live_peak.bytes : result.models.front().footprint;
    }
    state.counters["events/s"] = benchmark::Counter(
        static_cast<double>(s.events * state.iterations()), benchmark::Counter::kIsRate);
    state.counters["footprint"] = static_cast<double>(footprint);
    state.counters["max_rss_MiB"] = static_cast<double>(max_rss_kib()) / 1024.0;
}

BENCHMARK(BM_DecodeOnly)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_CAPTURE(BM_ReplayModel, engine_only, std::string())
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_ReplayModel, ideal, std::string("ideal"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_ReplayModel, mbedtls_pool, std::string("mbedtls-pool"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_ReplayModel, freertos_heap4, std::string("freertos-heap4"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_ReplayModel, esp_tlsf, std::string("esp-tlsf"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_ReplayModel, umm, std::string("umm"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    std::remove(synthetic().path.c_str());
    return 0;
}
