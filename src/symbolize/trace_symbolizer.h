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

// Directories of this machine that a trace names (tlsheap's cache, its own
// files) and the names they are written as instead ("<cache>"): a trace is
// attached to bug reports and committed, and says where things were without
// naming the machine it was recorded on.
struct PortablePrefix {
    std::filesystem::path directory;
    std::string name;
};

// `path` with the deepest of `prefixes` it lies under replaced by that
// prefix's name ("/home/me/.cache/tlsheap/builds/x" -> "<cache>/builds/x");
// within a longer string (a macro's quoted value) too. Otherwise unchanged.
std::string portable_path(const std::string& path, const std::vector<PortablePrefix>& prefixes);

// Where the lookups of each module are kept between runs (module_symbols_file.h).
struct SymbolCache {
    // Modules by path, size, modification time and build id (libc, ld.so, a
    // user's program). Empty: none are kept.
    std::filesystem::path directory;
    // Binaries that never change where they are (the recorder in the build
    // cache, whose directory is its content key): their lookups are kept
    // beside them, under `key`, and nothing of them is looked at but the path.
    struct FixedBinary {
        std::filesystem::path binary;
        std::string key;
    };
    std::vector<FixedBinary> fixed;
};

// The file beside a fixed binary that holds its lookups.
std::filesystem::path fixed_binary_symbols_file(const std::filesystem::path& binary);

// `mbedtls_root`: frames whose source lies under it are marked as mbedTLS
// code and their paths written relative to it ("library/x509_crt.c").
// `sysroot`: where the recorded program's libraries are on this host when it
// ran under an emulator (qemu-user's -L), tried for module paths that do not
// exist as recorded.
// `portable`: prefixes replaced in the description records (meta, config
// macros, modules) and in frames' file names.
// `symbols`: where the modules' lookups are kept; a module whose lookups are
// all kept has its DWARF left unread.
// Throws trace::TraceError if the raw trace is unreadable or `final` cannot
// be written.
FinalizeResult finalize_trace(const std::filesystem::path& raw, const std::filesystem::path& final,
                              const std::filesystem::path& mbedtls_root,
                              const std::filesystem::path& sysroot = {},
                              const std::vector<PortablePrefix>& portable = {},
                              const SymbolCache& symbols = {});

} // namespace tlsheap::symbolize
