#include "pipeline/source_tree.h"

#include "tlsheap_version.h"

#include <cstdlib>

namespace tlsheap::pipeline {

std::filesystem::path tlsheap_source_dir() {
    if (const char* dir = std::getenv("TLSHEAP_SOURCE_DIR"); dir != nullptr && *dir != '\0') {
        return dir;
    }
    return kBuildSourceDir;
}

std::filesystem::path scenario_dir() {
    return tlsheap_source_dir() / "scenarios";
}

} // namespace tlsheap::pipeline
