// Reconnects (issue 10): record 100 reconnects of the default scenario
// against the deterministic peer, then replay the trace as `tlsheap profile`
// does (one pass through every model, then each model's min pool). Prints the
// wall time of each part; the target is well under a minute for both on
// 2 cores. Speed is measured here, never in a timed test.
#include "bench_support.h"
#include "orchestration/recording_run.h"
#include "tlsheap/profile_trace.h"

#include <algorithm>
#include <benchmark/benchmark.h>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace tlsheap;
using bench::median;
using Clock = std::chrono::steady_clock;

constexpr unsigned kReconnects = 100;

using Setup = bench::DefaultVariantSetup;

const Setup& setup() {
    return bench::default_variant_setup();
}

struct Figures {
    std::vector<double> record_s;
    std::vector<double> replay_s;
    std::uint64_t events = 0;
    std::uint64_t trace_bytes = 0;
    std::uint64_t leaked = 0;
};
Figures figures;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void BM_HundredReconnects(benchmark::State& state) {
    const Setup& s = setup();
    for (auto _ : state) {
        record::RecordingRequest r;
        r.scenario = s.scenario;
        r.recorder = s.variant.recorder;
        r.settings.peer = "mbedtls";
        r.peer_recorder = s.variant.recorder;
        r.trace = s.work / "reconnects.trace";
        r.work_dir = s.work;
        r.lifecycle.reconnects = kReconnects;
        const Clock::time_point recording = Clock::now();
        const record::RecordingResult result = record::run_recording(r);
        figures.record_s.push_back(seconds_since(recording));
        if (result.status != 0) {
            state.SkipWithError(("recording failed: " + result.error).c_str());
            return;
        }

        replay::ReplayOptions options;
        for (const char* m : {"ideal", "mbedtls-pool", "freertos-heap4", "esp-tlsf", "umm"})
            options.models.push_back(replay::ModelSpec::parse(m));
        const Clock::time_point replaying = Clock::now();
        const replay::ReplayResult replayed = replay::profile_trace(r.trace.string(), options);
        figures.replay_s.push_back(seconds_since(replaying));
        figures.events = replayed.events;
        figures.leaked = replayed.leaked_bytes;
        figures.trace_bytes = fs::file_size(r.trace);
        state.SetIterationTime(figures.record_s.back() + figures.replay_s.back());
    }
}

BENCHMARK(BM_HundredReconnects)->UseManualTime()->Iterations(3)->Unit(benchmark::kSecond);

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (!figures.record_s.empty() && !figures.replay_s.empty()) {
        std::printf("%u reconnects: record %.2f s, replay through 5 models with min pools %.2f s "
                    "(medians of %zu runs; %llu events, %llu-byte trace, %llu bytes leaked; "
                    "target: well under 60 s)\n",
                    kReconnects, median(figures.record_s), median(figures.replay_s),
                    figures.record_s.size(), static_cast<unsigned long long>(figures.events),
                    static_cast<unsigned long long>(figures.trace_bytes),
                    static_cast<unsigned long long>(figures.leaked));
    }
    fs::remove_all(setup().work);
    return 0;
}
