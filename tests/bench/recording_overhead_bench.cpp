// Recording overhead: handshake time of the default variant with recording on
// (allocation shim, stack capture, transport tap, trace writing) against the
// same binary with recording off, against the same deterministic peer. The
// recorder times each handshake itself (mbedtls_ssl_handshake_step loop), so
// process start-up and teardown are not counted. Prints the ratio of medians,
// and what `profile --stack` (recording on a painted stack) costs on top.
#include "bench_support.h"
#include "orchestration/recording_run.h"

#include <algorithm>
#include <benchmark/benchmark.h>
#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace tlsheap;
using bench::median;

constexpr unsigned kHandshakesPerRun = 25;

using Setup = bench::DefaultVariantSetup;

const Setup& setup() {
    return bench::default_variant_setup();
}

// Off, on, and on with the painted stack.
std::vector<double> all_ns[3];
constexpr unsigned kPainted = 2;

// Runs kHandshakesPerRun handshakes with recording on or off (and with the
// painted stack); false on error.
bool run(const Setup& s, bool record, std::string& error, bool painted = false) {
    record::RecordingRequest r;
    r.scenario = s.scenario;
    r.recorder = s.variant.recorder;
    r.settings.peer = "mbedtls";
    r.peer_recorder = s.variant.recorder;
    r.record = record;
    r.trace = s.work / "bench.trace";
    r.work_dir = s.work;
    r.repeat = kHandshakesPerRun;
    r.settings.stack = painted;
    const record::RecordingResult result = record::run_recording(r);
    if (result.status != 0 || result.handshake_ns.size() != kHandshakesPerRun) {
        error = "recording failed: " + result.error;
        return false;
    }
    std::vector<double>& ns = all_ns[painted ? kPainted : record];
    ns.insert(ns.end(), result.handshake_ns.begin(), result.handshake_ns.end());
    return true;
}

// Off and on alternate (and swap order every iteration), so that whatever
// else the machine does falls on both alike.
void BM_RecordingOverhead(benchmark::State& state) {
    const Setup& s = setup();
    bool on_first = false;
    for (auto _ : state) {
        std::string error;
        for (const bool record : {on_first, !on_first}) {
            if (!run(s, record, error)) {
                state.SkipWithError(error.c_str());
                return;
            }
        }
        on_first = !on_first;
        state.SetIterationTime(median(all_ns[1]) * 1e-9);
    }
    state.counters["off_ms"] = median(all_ns[0]) * 1e-6;
    state.counters["on_ms"] = median(all_ns[1]) * 1e-6;
    state.counters["ratio"] = median(all_ns[1]) / median(all_ns[0]);
    state.counters["handshakes"] = static_cast<double>(all_ns[1].size());
}

BENCHMARK(BM_RecordingOverhead)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);

// The painted stack scans what is still unused of it at every allocation and
// free: far slower, and only asked for with `profile --stack`.
void BM_PaintedStackRecording(benchmark::State& state) {
    const Setup& s = setup();
    for (auto _ : state) {
        std::string error;
        if (!run(s, true, error, true)) {
            state.SkipWithError(error.c_str());
            return;
        }
        state.SetIterationTime(median(all_ns[kPainted]) * 1e-9);
    }
    state.counters["painted_ms"] = median(all_ns[kPainted]) * 1e-6;
}

BENCHMARK(BM_PaintedStackRecording)->UseManualTime()->Iterations(2)->Unit(benchmark::kMillisecond);

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    const double off = median(all_ns[0]);
    const double on = median(all_ns[1]);
    if (off > 0 && on > 0) {
        std::printf("recording overhead: median handshake %.3f ms with recording, %.3f ms without "
                    "(%zu / %zu handshakes): %.2fx (target <= 1.20x)\n",
                    on * 1e-6, off * 1e-6, all_ns[1].size(), all_ns[0].size(), on / off);
    }
    const double painted = median(all_ns[kPainted]);
    if (off > 0 && painted > 0) {
        std::printf("with the painted stack (profile --stack): median handshake %.3f ms "
                    "(%zu handshakes): %.1fx the unrecorded one\n",
                    painted * 1e-6, all_ns[kPainted].size(), painted / off);
    }
    fs::remove_all(setup().work);
    return 0;
}
