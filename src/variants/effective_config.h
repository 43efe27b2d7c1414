// The configuration a variant is really built with: the macros the
// preprocessor sees after the config file, the deltas, tlsheap's overlay and
// (3.x) the library's own adjustment headers.
#pragma once

#include "variants/mbedtls_tree.h"
#include "variants/toolchain.h"

#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace tlsheap::build {

class MacroSet {
  public:
    MacroSet() = default;
    explicit MacroSet(std::map<std::string, std::string> macros) : macros_(std::move(macros)) {}
    bool defines(const std::string& name) const { return macros_.count(name) != 0; }
    std::optional<std::string> value(const std::string& name) const;
    const std::map<std::string, std::string>& all() const { return macros_; }

    // One "NAME VALUE" per line; the cache stores it so a cached variant
    // needs no preprocessor run.
    std::string serialize() const;
    static MacroSet deserialize(const std::string& text);

  private:
    std::map<std::string, std::string> macros_;
};

// Runs the preprocessor over the tree's config entry header with
// MBEDTLS_CONFIG_FILE set to config_file. Keeps object-like MBEDTLS_* and
// PSA_WANT_* macros except include guards and MBEDTLS_CONFIG_FILE itself. Throws BuildError with
// the compiler's first errors when the config does not preprocess (#error in check_config.h, a
// missing include, ...); `config_label` names the config in that message.
MacroSet preprocess_config(const MbedtlsTree& tree, const Toolchain& toolchain,
                           const std::filesystem::path& config_file,
                           const std::string& config_label);

// First lines of compiler output that carry an error, for a short report.
std::string first_compiler_errors(const std::string& output, unsigned max_lines = 5);

} // namespace tlsheap::build
