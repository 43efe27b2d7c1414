// The sample traces committed under traces/, by name, for the tests that run
// over every one of them.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace tlsheap::replay {

// The names (file stems) of the committed traces, sorted.
inline std::vector<std::string> sample_traces() {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(
             std::filesystem::path(TLSHEAP_SOURCE_DIR) / "traces")) {
        if (e.path().extension() == ".trace") {
            names.push_back(e.path().stem().string());
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

inline std::string path_of(const std::string& name) {
    return (std::filesystem::path(TLSHEAP_SOURCE_DIR) / "traces" / (name + ".trace")).string();
}

} // namespace tlsheap::replay
