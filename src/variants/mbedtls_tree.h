// An mbedTLS source tree: one fetched by scripts/fetch-mbedtls.sh (named
// "3.6" or "2.28") or the user's own (an SDK's copy). Knows its version, its
// default config file, its handshake state names and a content identity for
// the build cache.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tlsheap::build {

struct MbedtlsTree {
    std::filesystem::path root;
    std::string version; // "3.6.6"
    int major = 0;
    int minor = 0;
    std::string origin; // "debian mbedtls 3.6.6-0.1~deb13u1 (trixie)" or "user tree /path"
    std::filesystem::path default_config;
    // mbedtls_ssl_states enumerators, full names, in declaration order.
    std::vector<std::string> state_enumerators;
    // Hash of every source and header that goes into a build.
    std::string identity;

    std::filesystem::path include_dir() const { return root / "include"; }
    std::filesystem::path library_dir() const { return root / "library"; }
    // The header that pulls in the configuration (3.x: build_info.h, 2.x: config.h).
    std::string config_entry_header() const;
    // Library sources to compile, sorted.
    std::vector<std::filesystem::path> library_sources() const;
};

// `spec` is "3.6", "2.28" (fetched into cache_dir/mbedtls) or a directory.
// The tree's identity is kept in cache_dir (tree_identity.h).
// Throws BuildError naming what is missing.
// A named tree that is not fetched yet is an error that says to run
// `fetch_script`.
MbedtlsTree locate_mbedtls_tree(const std::string& spec, const std::filesystem::path& cache_dir,
                                const std::filesystem::path& fetch_script);

// The enumerators of `typedef enum {...} mbedtls_ssl_states;` in ssl.h text.
std::vector<std::string> parse_ssl_states(const std::string& ssl_h);

} // namespace tlsheap::build
