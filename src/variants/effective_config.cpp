#include "variants/effective_config.h"

#include "process/child_process.h"
#include "variants/build_error.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

namespace tlsheap::build {

std::optional<std::string> MacroSet::value(const std::string& name) const {
    const auto it = macros_.find(name);
    if (it == macros_.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::string MacroSet::serialize() const {
    std::string out;
    for (const auto& [name, value] : macros_) {
        out += name;
        if (!value.empty()) {
            out += ' ';
            out += value;
        }
        out += '\n';
    }
    return out;
}

MacroSet MacroSet::deserialize(const std::string& text) {
    std::map<std::string, std::string> macros;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) {
            continue;
        }
        const auto space = line.find(' ');
        macros[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
    }
    return MacroSet(std::move(macros));
}

std::string first_compiler_errors(const std::string& output, unsigned max_lines) {
    std::istringstream in(output);
    std::string line;
    std::string out;
    unsigned n = 0;
    std::vector<std::string> seen;
    while (std::getline(in, line) && n < max_lines) {
        const bool error =
            line.find("error") != std::string::npos || line.find("Error") != std::string::npos;
        // The same config line breaks many uses; say it once.
        if (error && std::find(seen.begin(), seen.end(), line) == seen.end()) {
            seen.push_back(line);
            out += line + "\n";
            ++n;
        }
    }
    if (out.empty()) {
        std::istringstream again(output);
        while (std::getline(again, line) && n < max_lines) {
            out += line + "\n";
            ++n;
        }
    }
    return out;
}

MacroSet preprocess_config(const MbedtlsTree& tree, const Toolchain& toolchain,
                           const std::filesystem::path& config_file,
                           const std::string& config_label) {
    std::vector<std::string> argv = {toolchain.cc};
    argv.insert(argv.end(), toolchain.arch_flags.begin(), toolchain.arch_flags.end());
    const auto probe = config_file.parent_path() / "config_probe.c";
    {
        std::ofstream out(probe);
        out << "#include <" << tree.config_entry_header() << ">\n";
    }
    argv.insert(argv.end(),
                {"-E", "-dM", "-I" + tree.include_dir().string(),
                 "-DMBEDTLS_CONFIG_FILE=\"" + config_file.string() + "\"", probe.string()});
    const auto r = process::run_command(argv, std::chrono::seconds(60));
    std::filesystem::remove(probe);
    if (r.status != 0) {
        const std::string errors = first_compiler_errors(r.err);
        const std::string first = errors.substr(0, errors.find('\n'));
        const std::string rest = errors.find('\n') == std::string::npos
                                     ? std::string()
                                     : errors.substr(errors.find('\n') + 1);
        throw BuildError("config " + config_label + " does not compile: " + first, rest);
    }
    static const std::regex define(R"(^#define ((MBEDTLS|PSA_WANT)_[A-Za-z0-9_]*)(?: (.*))?$)");
    std::map<std::string, std::string> macros;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (!std::regex_match(line, m, define)) {
            continue; // function-like macros and everything else
        }
        const std::string name = m[1];
        if (name.size() > 2 && name.compare(name.size() - 2, 2, "_H") == 0) {
            continue; // include guards
        }
        if (name == "MBEDTLS_CONFIG_FILE") {
            // Set above to where the config sits in the cache: a path, not
            // a setting, and one that would tie the recorder's key to the
            // cache directory.
            continue;
        }
        macros[name] = m[3].matched ? std::string(m[3]) : std::string();
    }
    return MacroSet(std::move(macros));
}

} // namespace tlsheap::build
