// `tlsheap record -- PROG ARGS`: runs a user's program linked with an
// exported variant (`build --export`), with TLSHEAP_TRACE naming where its
// recording library writes the raw trace, then symbolizes it into the final
// trace that every other stage reads.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace tlsheap::pipeline {

struct ProgramRecordingRequest {
    std::vector<std::string> command; // the program and its arguments
    std::filesystem::path trace;      // the final trace
    std::chrono::seconds timeout{};   // then the program is stopped
    // The mbedTLS tree the export was built from ("" : the trace's version,
    // as fetched): frames in it are marked as mbedTLS code.
    std::string mbedtls;
};

struct ProgramRecording {
    int program_status = 0; // exit code, or 128 + signal
    bool timed_out = false;
    bool truncated = false; // the program ended without finishing the trace
    std::vector<std::string> warnings;
};

// The trace's "3.6.6" as a fetched tree's name, "3.6".
std::string fetched_tree_for_version(const std::string& mbedtls_version);

// Throws UserError: the program cannot be started (exit 2), or wrote no
// trace (exit 1; it is not linked with an export, or died first).
ProgramRecording record_program(const ProgramRecordingRequest& request);

} // namespace tlsheap::pipeline
