// One recording: start the peer, run the recorder against it with a
// watchdog, stop everything, and say in one line what went wrong if anything
// did. The trace the recorder wrote is kept in every case (truncated if the
// recorder had to be stopped).
#pragma once

#include "orchestration/recorder_arguments.h"
#include "orchestration/run_settings.h"
#include "orchestration/scenario.h"
#include "tlsheap/recorder_protocol.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace tlsheap::record {

struct RecordingRequest {
    Scenario scenario;
    RunSettings settings;           // peer resolved: "mbedtls" | "openssl" | "external"
    std::filesystem::path recorder; // the profiled variant's recorder
    bool der = false;               // the profiled variant lacks PEM parsing
    std::filesystem::path peer_recorder;
    bool peer_der = false;
    std::vector<std::string> runner;      // emulator prefix (qemu) for the recorded side
    std::vector<std::string> peer_runner; // and for the mbedTLS peer
    std::filesystem::path trace;
    std::filesystem::path work_dir;
    bool record = true; // false: run without writing a trace (benchmarks)
    bool capture_stacks = true;
    unsigned repeat = 1;
    lifecycle::Lifecycle lifecycle; // the connections of each run
    std::vector<std::pair<std::string, std::string>> meta;
    // `tlsheap oom` (record false): one forked run per call to fail or per
    // pool size (a pool sweep on a recorder built with memory_buffer_alloc),
    // against a peer that serves each connection from a fresh fork.
    recorder_protocol::RunSweep sweep;
};

// What the request's settings mean for this run: the side recorded (any side
// but "client" is the server) and the per-step timeout, scaled for an emulated ABI.
Side recorded_side(const RecordingRequest& request);
std::chrono::milliseconds step_timeout(const RecordingRequest& request);

struct RecordingResult {
    int status = 0;    // the recorder's exit status
    std::string error; // one line when status != 0
    std::string peer_description;
    std::vector<unsigned long long> handshake_ns;
    std::string output; // the recorder's standard output
};

// Throws RecordError when the peer cannot be started (port in use, ...).
RecordingResult run_recording(const RecordingRequest& request);

} // namespace tlsheap::record
