#include "report/stack_levels.h"

#include <cstring>

namespace tlsheap::report {

std::vector<StackLevel> call_site_levels(const trace::TraceInfo& info, std::uint32_t stack) {
    std::vector<StackLevel> levels;
    const std::vector<std::uint64_t>* frames = info.stack(stack);
    if (frames == nullptr) {
        return levels;
    }
    std::size_t call_site = std::string::npos;
    for (const std::uint64_t address : *frames) {
        const std::vector<trace::SourceLevel>* source = info.frame(address);
        if (source == nullptr || source->empty()) {
            levels.push_back({address, false, info.raw_frame_name(address), "", 0});
            continue;
        }
        for (const trace::SourceLevel& level : *source) {
            if (call_site == std::string::npos && trace::TraceInfo::asks_for_memory(level)) {
                call_site = levels.size();
            }
            levels.push_back({address, true, level.function, level.file, level.line});
        }
    }
    if (call_site != std::string::npos) {
        levels.erase(levels.begin(), levels.begin() + static_cast<std::ptrdiff_t>(call_site));
    }
    return levels;
}

std::string safe_frame_text(const std::string& text, const char* also_unsafe) {
    if (text.empty()) {
        return "??";
    }
    std::string safe = text;
    for (char& c : safe) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f || std::strchr(also_unsafe, c) != nullptr) {
            c = '?';
        }
    }
    return safe;
}

} // namespace tlsheap::report
