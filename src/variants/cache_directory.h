#pragma once

#include <filesystem>

namespace tlsheap::build {

// Where tlsheap keeps fetched mbedTLS trees, built variants and traces:
// $TLSHEAP_CACHE_DIR, else $XDG_CACHE_HOME/tlsheap, else ~/.cache/tlsheap.
// scripts/fetch-mbedtls.sh uses the same rule.
std::filesystem::path default_cache_directory();

} // namespace tlsheap::build
