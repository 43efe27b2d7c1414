#include "report/folded_stacks.h"

#include "report/stack_levels.h"

namespace tlsheap::report {

std::vector<std::string> folded_frames(const trace::TraceInfo& info, std::uint32_t stack) {
    const std::vector<StackLevel> levels = call_site_levels(info, stack);
    if (levels.empty()) {
        return {"[unknown]"};
    }
    // ';' would split a frame and a line break the line.
    std::vector<std::string> outer_first;
    outer_first.reserve(levels.size());
    for (auto level = levels.rbegin(); level != levels.rend(); ++level) {
        outer_first.push_back(safe_frame_text(level->function, ";"));
    }
    return outer_first;
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
