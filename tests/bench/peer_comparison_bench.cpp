// tlsheap against the tools our users would otherwise reach for, on the same
// client handshake (the default scenario against the deterministic mbedTLS
// peer): a warm `tlsheap profile` (the real binary, as a user runs it) against
// valgrind's massif + ms_print and heaptrack + heaptrack_print on the host
// recorder of the same variant, run interleaved (A B C A B C ...) so that the
// machine's load falls on all three alike; then what a new variant costs to
// build (a size knob changed, the object cache warm) and a cold one. Prints
// medians and ratios. Speed is measured here, never in a timed test.
#include "bench_median.h"
#include "orchestration/recording_run.h"
#include "orchestration/scenario.h"
#include "process/child_process.h"

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

constexpr const char* kScenario = "tls12-ecdhe-ecdsa-p256";

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs argv with its output to /dev/null; exits the benchmark on failure.
double timed(const std::vector<std::string>& argv,
             const std::vector<std::pair<std::string, std::string>>& env = {}) {
    const Clock::time_point start = Clock::now();
    const auto r = tlsheap::process::run_command(argv, std::chrono::minutes(20), {}, env);
    const double s = seconds_since(start);
    if (r.status != 0 || r.timed_out) {
        std::fprintf(stderr, "peer_comparison_bench: %s failed: %s\n", argv.front().c_str(),
                     r.err.c_str());
        std::exit(1);
    }
    return s;
}

// The recorder a warm profile of `abi` uses (profiling it once warms the cache).
fs::path recorder_of(const std::string& abi, const fs::path& work) {
    const fs::path json = work / ("warm-" + abi + ".json");
    timed({TLSHEAP_BINARY, "profile", "-q", "--abi", abi, "--json", json.string()});
    std::ifstream in(json);
    return nlohmann::json::parse(in)["variant"]["recorder"].get<std::string>();
}

// One client handshake under `runner` (not recording: the tool measures it),
// then the tool's own report of its output.
double peer_tool(const fs::path& recorder, const std::vector<std::string>& runner,
                 const std::vector<std::string>& report, const fs::path& work) {
    const Clock::time_point start = Clock::now();
    tlsheap::record::RecordingRequest request;
    request.scenario =
        tlsheap::record::load_scenario(kScenario, fs::path(TLSHEAP_SOURCE_DIR) / "scenarios");
    request.settings.peer = "mbedtls";
    request.settings.timeout_seconds = 60; // valgrind runs the client ~50x slower
    request.recorder = recorder;
    request.peer_recorder = recorder;
    request.runner = runner;
    request.record = false;
    request.work_dir = work;
    const auto result = tlsheap::record::run_recording(request);
    if (result.status != 0) {
        std::fprintf(stderr, "peer_comparison_bench: %s: %s\n", runner.front().c_str(),
                     result.error.c_str());
        std::exit(1);
    }
    timed(report);
    return seconds_since(start);
}

} // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 9;
    const int variants = argc > 2 ? std::atoi(argv[2]) : 3;
    if (rounds < 1 || variants < 0) {
        std::fprintf(stderr, "usage: peer_comparison_bench [ROUNDS [NEW_VARIANTS]]\n");
        return 2;
    }
    const fs::path work =
        fs::temp_directory_path() / ("tlsheap-peer-bench-" + std::to_string(::getpid()));
    fs::create_directories(work);
    const fs::path host_recorder = recorder_of("host", work);
    recorder_of("ilp32", work);

    const fs::path massif_out = work / "massif.out";
    const fs::path heaptrack_out = work / "heaptrack.bench"; // heaptrack adds .zst or .gz
    std::vector<double> ilp32, host, massif, heaptrack;
    for (int i = 0; i < rounds; ++i) {
        ilp32.push_back(timed({TLSHEAP_BINARY, "profile", "-q", "--abi", "ilp32"}));
        host.push_back(timed({TLSHEAP_BINARY, "profile", "-q"}));
        massif.push_back(peer_tool(
            host_recorder,
            {"valgrind", "--tool=massif", "--quiet", "--massif-out-file=" + massif_out.string()},
            {"ms_print", massif_out.string()}, work));
        for (const auto& entry : fs::directory_iterator(work)) {
            if (entry.path().filename().string().rfind("heaptrack.bench", 0) == 0) {
                fs::remove(entry.path());
            }
        }
        const Clock::time_point start = Clock::now();
        peer_tool(host_recorder, {"heaptrack", "-o", heaptrack_out.string()}, {"true"}, work);
        fs::path data;
        for (const auto& entry : fs::directory_iterator(work)) {
            if (entry.path().filename().string().rfind("heaptrack.bench", 0) == 0) {
                data = entry.path();
            }
        }
        timed({"heaptrack_print", data.string()});
        heaptrack.push_back(seconds_since(start));
    }
    std::printf("same client handshake (%s against the mbedTLS peer), medians of %d interleaved "
                "rounds:\n",
                kScenario, rounds);
    std::printf("  tlsheap profile (warm, ilp32)    %7.3f s\n", median(ilp32));
    std::printf("  tlsheap profile (warm, host)     %7.3f s\n", median(host));
    std::printf("  valgrind massif + ms_print       %7.3f s  (%.1fx ilp32, %.1fx host)\n",
                median(massif), median(massif) / median(ilp32), median(massif) / median(host));
    std::printf("  heaptrack + heaptrack_print      %7.3f s  (%.1fx ilp32, %.1fx host)\n",
                median(heaptrack), median(heaptrack) / median(ilp32),
                median(heaptrack) / median(host));

    if (variants > 0) {
        // A cache of its own, so that the cold build is cold and the user's
        // cache gains no variants; the mbedTLS tree is the user's.
        const fs::path cache = work / "cache";
        fs::create_directories(cache);
        const char* user_cache = std::getenv("TLSHEAP_CACHE_DIR");
        const fs::path tree = (user_cache != nullptr && *user_cache != '\0')
                                  ? fs::path(user_cache)
                                  : fs::path(std::getenv("HOME")) / ".cache" / "tlsheap";
        fs::create_directory_symlink(tree / "mbedtls", cache / "mbedtls");
        const std::vector<std::pair<std::string, std::string>> env = {
            {"TLSHEAP_CACHE_DIR", cache.string()}};
        const double cold = timed({TLSHEAP_BINARY, "profile", "-q", "--abi", "ilp32"}, env);
        std::vector<double> fresh;
        for (int i = 0; i < variants; ++i) {
            const std::string knob = "MBEDTLS_SSL_OUT_CONTENT_LEN=" + std::to_string(3001 + i);
            fresh.push_back(
                timed({TLSHEAP_BINARY, "profile", "-q", "--abi", "ilp32", "--set", knob}, env));
        }
        std::printf("building a variant (ilp32, profile included):\n");
        std::printf("  cold (empty cache)               %7.1f s\n", cold);
        std::printf("  new variant, one size knob       %7.1f s  (median of %d: "
                    "--set MBEDTLS_SSL_OUT_CONTENT_LEN=3001...)\n",
                    median(fresh), variants);
    }
    fs::remove_all(work);
    return 0;
}
