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
    // The preload shim, for a program that loads mbedTLS as shared
    // libraries (ProfileSession::build_preload_shim); "" for one linked
    // with an export.
    std::filesystem::path preload;
};

struct ProgramRecording {
    int program_status = 0; // exit code, or 128 + signal
    bool timed_out = false;
    bool truncated = false; // the program ended without finishing the trace
    std::vector<std::string> warnings;
};

// The mbedTLS shared libraries `program` names as needed
// ("libmbedtls.so.14", ...); empty when none, or the program is not found.
std::vector<std::string> shared_mbedtls_libraries(const std::string& program);

// The fetched tree ("2.28", "3.6") whose libraries carry these names (the
// SOVERSIONs of mbedTLS's library/CMakeLists.txt); "" when they are not one
// tree's.
std::string tree_of_shared_libraries(const std::vector<std::string>& libraries);

// Where a system's mbedTLS keeps its config header (Debian's libmbedtls-dev:
// /usr/include/mbedtls/config.h for 2.28), or "" when it has none.
std::string installed_config_header(const std::string& tree);

// The trace's "3.6.6" as a fetched tree's name, "3.6".
std::string fetched_tree_for_version(const std::string& mbedtls_version);

// Throws UserError: the program cannot be started (exit 2), or wrote no
// trace (exit 1; it is not linked with an export, or died first).
ProgramRecording record_program(const ProgramRecordingRequest& request);

} // namespace tlsheap::pipeline
