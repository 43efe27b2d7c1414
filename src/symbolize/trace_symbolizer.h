// Turns the recorder's raw trace into the final one: every return address in
// the trace's stacks is symbolized from the recorded program's ELF/DWARF
// (static and inlined functions included) and written as Frame records
// before the first event, so that the trace can be read and replayed on any
// machine without the binary. A raw trace that is truncated stays truncated.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tlsheap::symbolize {

struct FinalizeResult {
    std::size_t addresses = 0;  // distinct return addresses
    std::size_t resolved = 0;   // with a function name
    std::size_t in_mbedtls = 0; // inside the mbedTLS tree
    bool truncated = false;
    std::vector<std::string> warnings;
};

// `mbedtls_root`: frames whose source lies under it are marked as mbedTLS
// code and their paths written relative to it ("library/x509_crt.c").
// `sysroot`: where the recorded program's libraries are on this host when it
// ran under an emulator (qemu-user's -L), tried for module paths that do not
// exist as recorded.
// Throws trace::TraceError if the raw trace is unreadable or `final` cannot
// be written.
FinalizeResult finalize_trace(const std::filesystem::path& raw, const std::filesystem::path& final,
                              const std::filesystem::path& mbedtls_root,
                              const std::filesystem::path& sysroot = {});

} // namespace tlsheap::symbolize
