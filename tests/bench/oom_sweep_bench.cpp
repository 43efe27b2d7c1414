// `tlsheap oom` on the default scenario (issue 14): every allocation of the
// handshake failed once, each in its own forked run, as the command runs it
// (the real binary, default runners: the cores). Prints the sweep's wall time
// (the baseline recording not counted) and the whole command's; the target
// is the whole sweep in at most 60 s on 2 cores. Speed is measured here,
// never in a timed test.
#include "bench_median.h"

#include <benchmark/benchmark.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using tlsheap::bench::median;
using Clock = std::chrono::steady_clock;

struct Figures {
    std::vector<double> sweep_s;
    std::vector<double> command_s;
    std::uint64_t runs = 0;
    unsigned runners = 0;
};
Figures figures;

void BM_DefaultHandshakeSweep(benchmark::State& state) {
    const fs::path work =
        fs::temp_directory_path() / ("tlsheap-oom-bench-" + std::to_string(::getpid()));
    fs::create_directories(work);
    const fs::path document = work / "oom.json";
    const std::string command =
        std::string(TLSHEAP_BINARY) + " oom -q --json " + document.string() + " > /dev/null";
    for (auto _ : state) {
        const Clock::time_point start = Clock::now();
        const int status = std::system(command.c_str());
        figures.command_s.push_back(std::chrono::duration<double>(Clock::now() - start).count());
        if (status != 0) {
            state.SkipWithError("tlsheap oom failed");
            break;
        }
        std::ifstream in(document);
        const nlohmann::json d = nlohmann::json::parse(in);
        figures.sweep_s.push_back(d.at("seconds").get<double>());
        figures.runs = d.at("runs").size();
        figures.runners = d.at("runners").get<unsigned>();
        state.SetIterationTime(figures.sweep_s.back());
    }
    fs::remove_all(work);
}

BENCHMARK(BM_DefaultHandshakeSweep)->UseManualTime()->Iterations(3)->Unit(benchmark::kSecond);

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (!figures.sweep_s.empty()) {
        std::printf("oom sweep of the default handshake: %llu runs in %.1f s with %u runners "
                    "(whole command %.1f s; medians of %zu; target: at most 60 s on 2 cores)\n",
                    static_cast<unsigned long long>(figures.runs), median(figures.sweep_s),
                    figures.runners, median(figures.command_s), figures.sweep_s.size());
    }
    return 0;
}
