#include "variants/cache_directory.h"

#include <cstdlib>

namespace tlsheap::build {

std::filesystem::path default_cache_directory() {
    if (const char* dir = std::getenv("TLSHEAP_CACHE_DIR"); dir != nullptr && *dir != '\0') {
        return dir;
    }
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
        return std::filesystem::path(xdg) / "tlsheap";
    }
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : "/tmp") / ".cache" / "tlsheap";
}

} // namespace tlsheap::build
