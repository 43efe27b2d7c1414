// Stack high-water per handshake state (`profile --stack`): the recorder runs
// on a painted stack on every ABI, the figures sit next to the heap's, and
// valgrind's massif, measuring the same host client its own way, agrees on
// the order of magnitude.
#include "orchestration/recording_run.h"
#include "orchestration/scenario.h"
#include "tlsheap_harness.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <string>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The default scenario on the three ABIs at once: {ABI: its profile}.
std::map<std::string, json> profiles(bool stack, RunResult* run = nullptr) {
    const fs::path dir = scratch_dir(stack ? "stack-abis-painted" : "stack-abis");
    std::vector<std::string> args = {"profile", "--abi",  "host",
                                     "--abi",   "ilp32",  "--abi",
                                     "arm",     "--json", (dir / "p.json").string()};
    if (stack) {
        args.push_back("--stack");
    }
    const RunResult r = run_tlsheap(args);
    EXPECT_EQ(r.status, 0) << r.err;
    if (run != nullptr) {
        *run = r;
    }
    std::map<std::string, json> by_abi;
    if (fs::exists(dir / "p.json")) {
        const json document = read_json(dir / "p.json"); // outlives the loop over its profiles
        for (const json& p : document.at("profiles")) {
            by_abi[p.at("variant").at("abi").get<std::string>()] = p;
        }
    }
    return by_abi;
}

std::uint64_t state_stack(const json& report, const std::string& state) {
    for (const json& s : report["states"]) {
        if (s["state"] == state) {
            return s["stack_bytes"].get<std::uint64_t>();
        }
    }
    ADD_FAILURE() << "no state " << state;
    return 0;
}

TEST(Stack, EveryStateAndPhaseHasItsHighWaterOnEveryAbi) {
    const auto plain_profiles = profiles(false);
    RunResult run;
    const auto painted_profiles = profiles(true, &run);
    // The side-by-side table has the stack and the budget rows.
    EXPECT_NE(run.out.find("stack below the call (bytes)"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("heap + stack (bytes)"), std::string::npos) << run.out;
    for (const std::string abi : {"host", "ilp32", "arm"}) {
        SCOPED_TRACE(abi);
        ASSERT_TRUE(plain_profiles.contains(abi) && painted_profiles.contains(abi));
        const json& plain = plain_profiles.at(abi);
        const json& painted = painted_profiles.at(abi);
        ASSERT_TRUE(painted.contains("stack")) << painted.dump().substr(0, 400);
        // Without --stack nothing is measured, and painting changes no allocation.
        EXPECT_FALSE(plain.contains("stack"));
        EXPECT_FALSE(plain["states"][0].contains("stack_bytes"));
        EXPECT_EQ(painted["live_peak"]["bytes"], plain["live_peak"]["bytes"]);
        EXPECT_EQ(painted["summary"]["allocations"], plain["summary"]["allocations"]);

        const json& st = painted["stack"];
        const auto below = st["below_call_bytes"].get<std::uint64_t>();
        std::printf("[stack] %s: below the call %llu bytes in %s, %llu from the painted top\n",
                    abi.c_str(), static_cast<unsigned long long>(below), st["at"].dump().c_str(),
                    static_cast<unsigned long long>(st["deepest_bytes"].get<std::uint64_t>()));
        EXPECT_EQ(st["painted_bytes"], 256 * 1024);
        // An ECDSA verification and an ECDHE exchange are KiB deep on any
        // ABI; a handshake that needs 64 KiB of stack would be news.
        EXPECT_GT(below, 1500u);
        EXPECT_LT(below, 64u * 1024);
        EXPECT_GT(st["deepest_bytes"].get<std::uint64_t>(), below); // the recorder's frames above
        EXPECT_EQ(st["heap_plus_stack_bytes"].get<std::uint64_t>(),
                  painted["live_peak"]["bytes"].get<std::uint64_t>() + below);

        // Every state and phase was measured, the deepest is one of them, and
        // the steps that verify and compute on the curve go deeper than the
        // one that only sends a ClientHello.
        std::uint64_t deepest_state = 0;
        for (const json& s : painted["states"]) {
            const auto bytes = s["stack_bytes"].get<std::uint64_t>();
            EXPECT_GT(bytes, 0u) << s["state"];
            EXPECT_LE(bytes, below) << s["state"];
            deepest_state = std::max(deepest_state, bytes);
        }
        std::uint64_t deepest_phase = 0;
        for (const json& p : painted["phases"]) {
            const auto bytes = p["stack_bytes"].get<std::uint64_t>();
            EXPECT_GT(bytes, 0u) << p["phase"];
            deepest_phase = std::max(deepest_phase, bytes);
        }
        EXPECT_EQ(deepest_phase, below);
        EXPECT_GE(deepest_phase, deepest_state);
        EXPECT_GT(state_stack(painted, "SERVER_KEY_EXCHANGE"),
                  state_stack(painted, "CLIENT_HELLO"));
        EXPECT_GT(state_stack(painted, "CLIENT_KEY_EXCHANGE"),
                  state_stack(painted, "CLIENT_HELLO"));
    }
}

// massif --stacks=yes follows the stack pointer of the same host client (not
// painted, not recording: nothing of tlsheap's runs inside mbedTLS's calls).
// Its figure counts from the process's start and is the largest of its
// snapshots; ours is the deepest word written below the recorder's body, so
// the two differ by the C runtime's and main's frames and by what massif's
// snapshots miss, not by more than a factor of two.
TEST(Stack, MassifOnTheSameHostClientAgreesOnTheOrderOfMagnitude) {
    const auto painted_profiles = profiles(true);
    ASSERT_TRUE(painted_profiles.contains("host"));
    const json& painted = painted_profiles.at("host");
    ASSERT_TRUE(painted.contains("stack"));
    const auto ours = painted["stack"]["deepest_bytes"].get<std::uint64_t>();

    const fs::path dir = scratch_dir("stack-massif");
    const fs::path massif_out = dir / "massif.out";
    record::RecordingRequest request;
    request.scenario =
        record::load_scenario("tls12-ecdhe-ecdsa-p256", fs::path(TLSHEAP_SOURCE_DIR) / "scenarios");
    request.settings.peer = "mbedtls";
    request.settings.timeout_seconds = 60; // valgrind runs it some fifty times slower
    request.recorder = painted["variant"]["recorder"].get<std::string>();
    request.peer_recorder = request.recorder;
    request.runner = {"valgrind",     "--tool=massif",
                      "--stacks=yes", "--max-snapshots=1000",
                      "--depth=1",    "--massif-out-file=" + massif_out.string()};
    request.record = false;
    request.work_dir = dir;
    const record::RecordingResult result = record::run_recording(request);
    ASSERT_EQ(result.status, 0) << result.error;

    std::ifstream in(massif_out);
    ASSERT_TRUE(in) << massif_out;
    std::uint64_t massif = 0;
    std::string line;
    const std::string key = "mem_stacks_B=";
    while (std::getline(in, line)) {
        if (line.rfind(key, 0) == 0) {
            massif = std::max<std::uint64_t>(massif, std::stoull(line.substr(key.size())));
        }
    }
    std::printf("[stack] host: painted %llu bytes from the recorder's top, massif %llu\n",
                static_cast<unsigned long long>(ours), static_cast<unsigned long long>(massif));
    EXPECT_GT(massif, ours / 2);
    EXPECT_LT(massif, ours * 2);
}

} // namespace
} // namespace tlsheap::testing
