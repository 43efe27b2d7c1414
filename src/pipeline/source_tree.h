#pragma once

#include <filesystem>

namespace tlsheap::pipeline {

// The tlsheap checkout (recorder sources, scenarios): $TLSHEAP_SOURCE_DIR or
// the directory tlsheap was built from.
std::filesystem::path tlsheap_source_dir();
std::filesystem::path scenario_dir();

} // namespace tlsheap::pipeline
