#include "report/massif_file.h"

#include "report/model_overhead.h"
#include "report/stack_levels.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <vector>

namespace tlsheap::report {

namespace {

// ms_print strips everything after '#' as a comment and reads line by line.
std::string massif_text(const std::string& text) {
    return safe_frame_text(text, "#");
}

std::string level_label(const StackLevel& level) {
    if (!level.symbolized && level.function == fmt::format("0x{:x}", level.address)) {
        return fmt::format("0x{:X}: ???", level.address); // in no module: massif's way
    }
    if (!level.symbolized || level.file.empty()) {
        return fmt::format("0x{:X}: {}", level.address, massif_text(level.function));
    }
    return fmt::format("0x{:X}: {} ({}:{})", level.address, massif_text(level.function),
                       massif_text(level.file), level.line);
}

// The heap tree: the allocation function at the root, each call site below
// it, each caller below its callee.
struct TreeNode {
    std::string label;
    std::uint64_t bytes = 0;
    std::map<std::string, std::size_t> children; // label -> node index
};

std::vector<TreeNode> peak_tree(const replay::ReplayResult& result) {
    std::vector<TreeNode> nodes(1);
    nodes[0].label = "(heap allocation functions) mbedtls_calloc";
    for (const replay::StackBytes& entry : result.stacks_alive_at_peak) {
        nodes[0].bytes += entry.bytes;
        std::vector<std::string> labels;
        for (const StackLevel& level : call_site_levels(result.info, entry.stack)) {
            labels.push_back(level_label(level));
        }
        if (labels.empty()) {
            labels.push_back("[unknown]");
        }
        std::size_t at = 0;
        for (const std::string& label : labels) {
            auto [child, added] = nodes[at].children.try_emplace(label, nodes.size());
            if (added) {
                nodes.push_back({label, 0, {}});
            }
            at = child->second;
            nodes[at].bytes += entry.bytes;
        }
    }
    return nodes;
}

// Depth first, children largest first as massif orders them; iterative,
// since a trace from someone else may hold stacks thousands of frames deep.
void write_tree(std::ostream& out, const std::vector<TreeNode>& nodes) {
    std::vector<std::pair<std::size_t, std::size_t>> pending = {{0, 0}}; // node, depth
    while (!pending.empty()) {
        const auto [index, depth] = pending.back();
        pending.pop_back();
        const TreeNode& node = nodes[index];
        out << std::string(depth, ' ') << 'n' << node.children.size() << ": " << node.bytes << ' '
            << node.label << '\n';
        std::vector<std::size_t> children;
        for (const auto& [label, child] : node.children) {
            children.push_back(child);
        }
        std::stable_sort(children.begin(), children.end(), [&](std::size_t a, std::size_t b) {
            return nodes[a].bytes > nodes[b].bytes;
        });
        for (auto child = children.rbegin(); child != children.rend(); ++child) {
            pending.emplace_back(*child, depth + 1);
        }
    }
}

struct Snapshot {
    std::uint64_t time = 0;
    std::uint64_t heap = 0;
    std::uint64_t extra = 0;
    bool peak = false;
};

} // namespace

void write_massif(std::ostream& out, const replay::ReplayResult& result,
                  const MassifHeader& header) {
    // A plain index: g++ 12 sees an optional's value as maybe uninitialized here.
    const bool with_model = header.model && *header.model < result.models.size();
    const std::size_t model = with_model ? *header.model : 0;
    const replay::Peak& peak = result.live_peak;
    std::vector<Snapshot> snapshots = {{}};
    bool peak_written = peak.bytes == 0;
    const auto add_peak = [&] {
        snapshots.push_back(
            {peak.at.seq, peak.bytes,
             with_model ? overhead(result.models[model].footprint_at_live_peak, peak.bytes) : 0,
             true});
        peak_written = true;
    };
    for (const replay::SeriesPoint& point : result.series) {
        if (!peak_written && point.seq >= peak.at.seq) {
            add_peak();
            if (point.seq == peak.at.seq) {
                continue;
            }
        }
        const bool footprint = with_model && model < point.footprint.size();
        snapshots.push_back(
            {point.seq, point.live, footprint ? overhead(point.footprint[model], point.live) : 0});
    }
    if (!peak_written) {
        add_peak();
    }

    out << "desc: " << massif_text(header.options) << '\n';
    out << "cmd: " << massif_text(header.command) << '\n';
    // "i" is massif's instruction count; here it counts the recording's events.
    out << "time_unit: i\n";
    for (std::size_t n = 0; n < snapshots.size(); ++n) {
        const Snapshot& s = snapshots[n];
        out << "#-----------\nsnapshot=" << n << "\n#-----------\n";
        out << "time=" << s.time << "\nmem_heap_B=" << s.heap << "\nmem_heap_extra_B=" << s.extra
            << "\nmem_stacks_B=0\n";
        if (s.peak) {
            out << "heap_tree=peak\n";
            write_tree(out, peak_tree(result));
        } else {
            out << "heap_tree=empty\n";
        }
    }
}

} // namespace tlsheap::report
