#include "variants/mbedtls_tree.h"

#include "variants/build_error.h"
#include "variants/content_hash.h"
#include "variants/tree_identity.h"

#include <algorithm>
#include <regex>

namespace tlsheap::build {

namespace fs = std::filesystem;

std::string MbedtlsTree::config_entry_header() const {
    return major >= 3 ? "mbedtls/build_info.h" : "mbedtls/config.h";
}

std::vector<fs::path> MbedtlsTree::library_sources() const {
    std::vector<fs::path> sources;
    for (const auto& entry : fs::directory_iterator(library_dir())) {
        if (entry.is_regular_file() && entry.path().extension() == ".c") {
            sources.push_back(entry.path());
        }
    }
    std::sort(sources.begin(), sources.end());
    return sources;
}

std::vector<std::string> parse_ssl_states(const std::string& ssl_h) {
    const auto end = ssl_h.find("mbedtls_ssl_states;");
    if (end == std::string::npos) {
        return {};
    }
    const auto open = ssl_h.rfind("typedef enum", end);
    if (open == std::string::npos) {
        return {};
    }
    const std::string body = ssl_h.substr(open, end - open);
    std::vector<std::string> states;
    static const std::regex enumerator(R"(\b(MBEDTLS_SSL_[A-Z0-9_]+)\s*(=[^,}]*)?[,}\n])");
    for (auto it = std::sregex_iterator(body.begin(), body.end(), enumerator);
         it != std::sregex_iterator(); ++it) {
        states.push_back((*it)[1]);
    }
    return states;
}

namespace {

std::string version_of(const fs::path& include_dir) {
    static const std::regex version_line(R"re(#define\s+MBEDTLS_VERSION_STRING\s+"([0-9.]+)")re");
    for (const char* header : {"mbedtls/build_info.h", "mbedtls/version.h"}) {
        const fs::path file = include_dir / header;
        if (!fs::exists(file)) {
            continue;
        }
        const std::string text = read_text_file(file);
        std::smatch m;
        if (std::regex_search(text, m, version_line)) {
            return m[1];
        }
    }
    return {};
}

} // namespace

MbedtlsTree locate_mbedtls_tree(const std::string& spec, const fs::path& cache_dir,
                                const fs::path& fetch_script) {
    MbedtlsTree tree;
    const bool named = spec == "3.6" || spec == "2.28";
    if (named) {
        tree.root = cache_dir / "mbedtls" / spec;
        if (!fs::exists(tree.root / ".tlsheap-source")) {
            throw BuildError("mbedTLS " + spec + " source is not in " + tree.root.string() +
                             "; run " + fetch_script.string());
        }
        tree.origin = read_text_file(tree.root / ".tlsheap-source");
        while (!tree.origin.empty() && tree.origin.back() == '\n') {
            tree.origin.pop_back();
        }
    } else {
        tree.root = fs::absolute(spec);
        tree.origin = "user tree " + tree.root.string();
    }
    if (!fs::exists(tree.root / "include" / "mbedtls" / "ssl.h") ||
        !fs::exists(tree.root / "library")) {
        throw BuildError(tree.root.string() +
                         " is not an mbedTLS source tree (no include/mbedtls/ssl.h or library/)");
    }
    tree.version = version_of(tree.include_dir());
    std::smatch m;
    static const std::regex major_minor(R"(^(\d+)\.(\d+))");
    if (!std::regex_search(tree.version, m, major_minor)) {
        throw BuildError("cannot find MBEDTLS_VERSION_STRING in " + tree.include_dir().string());
    }
    tree.major = std::stoi(m[1]);
    tree.minor = std::stoi(m[2]);
    if (tree.major < 2 || (tree.major == 2 && tree.minor < 28) || tree.major > 3) {
        throw BuildError("mbedTLS " + tree.version + " in " + tree.root.string() +
                         " is not supported (tlsheap works with 2.28 and 3.x)");
    }
    tree.default_config =
        tree.include_dir() / "mbedtls" / (tree.major >= 3 ? "mbedtls_config.h" : "config.h");
    if (!fs::exists(tree.default_config)) {
        throw BuildError("the default config " + tree.default_config.string() + " is missing");
    }
    tree.state_enumerators =
        parse_ssl_states(read_text_file(tree.include_dir() / "mbedtls" / "ssl.h"));
    if (tree.state_enumerators.empty()) {
        throw BuildError("cannot find the mbedtls_ssl_states enum in " +
                         (tree.include_dir() / "mbedtls" / "ssl.h").string());
    }
    tree.identity = tree_identity(tree.root, cache_dir);
    return tree;
}

} // namespace tlsheap::build
