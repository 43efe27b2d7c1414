#include "report/caller_chain.h"

#include <vector>

namespace tlsheap::report {

std::string caller_chain(const trace::TraceInfo& info, std::uint32_t stack, unsigned depth) {
    const trace::CallSite site = info.call_site(stack);
    std::vector<std::string> names;
    bool found = false;
    if (const auto* frames = info.stack(stack)) {
        for (const std::uint64_t address : *frames) {
            const auto* levels = info.frame(address);
            if (levels == nullptr) {
                continue;
            }
            for (const trace::SourceLevel& level : *levels) {
                if (!found) {
                    found = level.function == site.function;
                    if (found) {
                        names.push_back(level.function);
                    }
                    continue;
                }
                if (!level.in_mbedtls || level.function.empty()) {
                    continue;
                }
                if (names.back() != level.function) {
                    names.push_back(level.function);
                }
                if (names.size() > depth) {
                    break;
                }
            }
            if (names.size() > depth) {
                break;
            }
        }
    }
    // The callers only: the call site itself is named next to the chain.
    std::string chain;
    for (std::size_t i = 1; i < names.size(); ++i) {
        chain += (chain.empty() ? "" : " <- ") + names[i];
    }
    return chain;
}

} // namespace tlsheap::report
