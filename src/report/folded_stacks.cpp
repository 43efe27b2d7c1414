#include "report/folded_stacks.h"

#include <algorithm>

namespace tlsheap::report {

namespace {

// A frame's name from the trace, which may come from someone else: ';' would
// split the frame and a line break the line, so both (and every other control
// byte) become '?'.
std::string frame_text(const std::string& name) {
    if (name.empty()) {
        return "??";
    }
    std::string text = name;
    for (char& c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == ';' || byte < 0x20 || byte == 0x7f) {
            c = '?';
        }
    }
    return text;
}

} // namespace

std::vector<std::string> folded_frames(const trace::TraceInfo& info, std::uint32_t stack) {
    const std::vector<std::uint64_t>* frames = info.stack(stack);
    if (frames == nullptr || frames->empty()) {
        return {"[unknown]"};
    }
    // Innermost first, as the trace lists them.
    std::vector<std::string> inner_first;
    std::size_t call_site = std::string::npos;
    for (const std::uint64_t address : *frames) {
        const std::vector<trace::SourceLevel>* levels = info.frame(address);
        if (levels == nullptr || levels->empty()) {
            inner_first.push_back(frame_text(info.raw_frame_name(address)));
            continue;
        }
        for (const trace::SourceLevel& level : *levels) {
            if (call_site == std::string::npos && trace::TraceInfo::asks_for_memory(level)) {
                call_site = inner_first.size();
            }
            inner_first.push_back(frame_text(level.function));
        }
    }
    if (call_site != std::string::npos) {
        inner_first.erase(inner_first.begin(),
                          inner_first.begin() + static_cast<std::ptrdiff_t>(call_site));
    }
    std::reverse(inner_first.begin(), inner_first.end());
    return inner_first;
}

std::map<std::string, std::uint64_t> folded_lines(const trace::TraceInfo& info,
                                                  const std::vector<replay::StackBytes>& stacks) {
    std::map<std::string, std::uint64_t> lines;
    for (const replay::StackBytes& entry : stacks) {
        if (entry.bytes == 0) {
            continue;
        }
        std::string line;
        for (const std::string& frame : folded_frames(info, entry.stack)) {
            line += (line.empty() ? "" : ";") + frame;
        }
        lines[line] += entry.bytes;
    }
    return lines;
}

void write_folded(std::ostream& out, const std::map<std::string, std::uint64_t>& lines) {
    for (const auto& [frames, bytes] : lines) {
        out << frames << ' ' << bytes << '\n';
    }
}

} // namespace tlsheap::report
