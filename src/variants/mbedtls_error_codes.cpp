#include "variants/mbedtls_error_codes.h"

#include "variants/content_hash.h"

#include <fmt/format.h>
#include <regex>
#include <vector>

namespace tlsheap::build {

namespace fs = std::filesystem;

namespace {

// PSA's status codes; mbedTLS's own are -0x0001..-0x007F (low level) plus
// -0x1000..-0x7F80 (high level), so these never combine with them.
constexpr int kPsaFirst = 128;
constexpr int kPsaLast = 255;
constexpr int kLowLevelMask = 0x007F;

bool is_psa(int code) {
    return code >= kPsaFirst && code <= kPsaLast;
}

std::vector<int> parts(int ret) {
    const int code = -ret;
    if (code <= 0 || is_psa(code)) {
        return {code};
    }
    std::vector<int> p;
    if ((code & ~kLowLevelMask) != 0) {
        p.push_back(code & ~kLowLevelMask);
    }
    if ((code & kLowLevelMask) != 0) {
        p.push_back(code & kLowLevelMask);
    }
    return p;
}

} // namespace

ErrorCodes ErrorCodes::of_tree(const MbedtlsTree& tree) {
    static const std::regex mbedtls(R"(#define\s+(MBEDTLS_ERR_\w+)\s+-0x([0-9A-Fa-f]+))");
    static const std::regex psa(R"(#define\s+(PSA_ERROR_\w+)\s+\(\(psa_status_t\)\s*-(\d+)\))");
    ErrorCodes codes;
    for (const char* dir : {"mbedtls", "psa"}) {
        const fs::path path = tree.include_dir() / dir;
        if (!fs::is_directory(path)) {
            continue;
        }
        for (const auto& entry : fs::directory_iterator(path)) {
            if (entry.path().extension() != ".h") {
                continue;
            }
            const std::string text = read_text_file(entry.path());
            for (const auto* re : {&mbedtls, &psa}) {
                const int base = re == &mbedtls ? 16 : 10;
                for (std::sregex_iterator m(text.begin(), text.end(), *re), end; m != end; ++m) {
                    const std::string name = (*m)[1];
                    const int value = std::stoi((*m)[2], nullptr, base);
                    codes.names_.emplace(value, name);
                    if (name.ends_with("_ALLOC_FAILED") ||
                        name == "PSA_ERROR_INSUFFICIENT_MEMORY") {
                        codes.alloc_failed_[value] = true;
                    }
                }
            }
        }
    }
    return codes;
}

std::string ErrorCodes::name(int ret) const {
    std::string text;
    for (const int part : parts(ret)) {
        const auto it = names_.find(part);
        text += (text.empty() ? "" : " + ") +
                (it != names_.end() ? it->second : fmt::format("-0x{:04X}", part));
    }
    return fmt::format("{} ({}0x{:04X})", text, ret < 0 ? "-" : "", ret < 0 ? -ret : ret);
}

bool ErrorCodes::out_of_memory(int ret) const {
    for (const int part : parts(ret)) {
        if (alloc_failed_.count(part) != 0) {
            return true;
        }
    }
    return false;
}

} // namespace tlsheap::build
