#pragma once

#include "variants/variant_builder.h"

#include <filesystem>
#include <string>

namespace tlsheap::pipeline {

// tlsheap's own files that it reads at run time: the recorder's sources
// (compiled once per variant), the scenarios with their test PKI, and the
// script that fetches mbedTLS.
struct ToolFiles {
    std::filesystem::path root;
    bool installed = false; // share/tlsheap of an installation, else a checkout
    build::RecorderSources recorder;
    std::filesystem::path scenarios;
    std::filesystem::path fetch_script;

    // "installed in /usr/share/tlsheap", "checkout /home/me/tlsheap"
    std::string describe() const;
};

// Found once: $TLSHEAP_SOURCE_DIR (a checkout, for developers), else
// ../share/tlsheap next to the executable (an installation), else the
// checkout tlsheap was built from. Throws UserError when none holds them.
const ToolFiles& tool_files();

// The layouts, for tests: `root` as a checkout or as share/tlsheap.
ToolFiles checkout_files(const std::filesystem::path& root);
ToolFiles installed_files(const std::filesystem::path& share_dir);

// Shorthand for tool_files().scenarios.
std::filesystem::path scenario_dir();

} // namespace tlsheap::pipeline
