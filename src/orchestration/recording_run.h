// One recording: start the peer, run the recorder against it with a
// watchdog, stop everything, and say in one line what went wrong if anything
// did. The trace the recorder wrote is kept in every case (truncated if the
// recorder had to be stopped).
#pragma once

#include "orchestration/recorder_arguments.h"
#include "orchestration/scenario.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace tlsheap::record {

struct RecordingRequest {
    Scenario scenario;
    Side side = Side::Client;       // the side that is recorded
    std::string peer = "mbedtls";   // "mbedtls" | "openssl" | "external"
    std::filesystem::path recorder; // the profiled variant's recorder
    bool der = false;               // the profiled variant lacks PEM parsing
    std::filesystem::path peer_recorder;
    bool peer_der = false;
    std::vector<std::string> runner;      // emulator prefix (qemu) for the recorded side
    std::vector<std::string> peer_runner; // and for the mbedTLS peer
    // peer == "external": the user's server, and what to trust there.
    std::string connect_host;
    std::string connect_port;
    std::vector<std::filesystem::path> ca_override;
    std::string server_name_override;

    std::filesystem::path trace;
    std::filesystem::path work_dir;
    std::chrono::milliseconds timeout{10000};
    unsigned port = 0;           // 0: ephemeral
    std::uint64_t pool_size = 0; // run on the real memory_buffer_alloc with this pool
    bool record = true;          // false: run without writing a trace (benchmarks)
    bool capture_stacks = true;
    unsigned repeat = 1;
    lifecycle::Lifecycle lifecycle; // the connections of each run
    std::vector<std::pair<std::string, std::string>> meta;
};

struct RecordingResult {
    int status = 0;    // the recorder's exit status
    std::string error; // one line when status != 0
    std::string peer_description;
    std::vector<unsigned long long> handshake_ns;
};

// Throws RecordError when the peer cannot be started (port in use, ...).
RecordingResult run_recording(const RecordingRequest& request);

} // namespace tlsheap::record
