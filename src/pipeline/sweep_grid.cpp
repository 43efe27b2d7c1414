#include "pipeline/sweep_grid.h"

#include "tlsheap/number_text.h"
#include "tlsheap/user_error.h"

#include <filesystem>
#include <fmt/format.h>
#include <regex>
#include <set>

namespace tlsheap::pipeline {

VaryAxis VaryAxis::parse(const std::string& text) {
    static const std::regex form(R"(([A-Za-z_][A-Za-z0-9_]*)=([^,]+(,[^,]+)*))");
    std::smatch m;
    if (!std::regex_match(text, m, form)) {
        throw UserError(
            "--vary needs NAME=VALUE,VALUE,... (values: on, off, default or a value), not '" +
                text + "'",
            kExitBadInput);
    }
    VaryAxis axis;
    axis.name = m[1];
    const std::string values = m[2];
    std::size_t start = 0;
    while (start <= values.size()) {
        const auto comma = values.find(',', start);
        const std::string v = values.substr(start, comma - start);
        if (std::find(axis.values.begin(), axis.values.end(), v) != axis.values.end()) {
            throw UserError("--vary " + text + ": value '" + v + "' given twice", kExitBadInput);
        }
        axis.values.push_back(v);
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    return axis;
}

std::vector<GridConfig> grid_configs(const std::vector<std::string>& config_files,
                                     const std::vector<std::string>& set,
                                     const std::vector<std::string>& unset,
                                     const std::vector<VaryAxis>& axes) {
    std::vector<std::string> files = config_files;
    if (files.empty()) {
        files.push_back("");
    }
    // Cells are keyed by the config's file name (not its path) so that keys
    // match across machines: two files of one name would be one key.
    std::set<std::string> names;
    for (const std::string& f : files) {
        if (!names.insert(std::filesystem::path(f).filename().string()).second) {
            throw UserError("two configs are named " +
                                std::filesystem::path(f).filename().string() +
                                "; rename one (a sweep tells configs apart by file name)",
                            kExitBadInput);
        }
    }
    std::set<std::string> macros;
    const auto name_of = [](const std::string& d) { return d.substr(0, d.find('=')); };
    for (const std::string& d : set) {
        macros.insert(name_of(d));
    }
    for (const std::string& d : unset) {
        macros.insert(d);
    }
    for (const VaryAxis& axis : axes) {
        if (!macros.insert(axis.name).second) {
            throw UserError("--vary " + axis.name +
                                ": the macro is also given by --set, --unset or another --vary",
                            kExitBadInput);
        }
    }
    // The combinations of the axes, the first axis varying slowest.
    std::vector<std::vector<std::string>> combos = {{}};
    for (const VaryAxis& axis : axes) {
        std::vector<std::vector<std::string>> next;
        for (const auto& combo : combos) {
            for (const std::string& v : axis.values) {
                auto c = combo;
                c.push_back(v);
                next.push_back(c);
            }
        }
        combos = next;
    }
    std::vector<GridConfig> configs;
    for (const std::string& file : files) {
        for (const auto& combo : combos) {
            GridConfig g;
            g.id = "c" + std::to_string(configs.size());
            g.config_file = file;
            g.set = set;
            g.unset = unset;
            g.label =
                file.empty() ? "(default config)" : std::filesystem::path(file).filename().string();
            for (const std::string& u : unset) {
                g.label += " --unset " + u;
            }
            for (const std::string& s : set) {
                g.label += " --set " + s;
            }
            for (std::size_t i = 0; i < axes.size(); ++i) {
                const std::string& v = combo[i];
                if (v == "default") {
                    continue;
                }
                if (v == "off") {
                    g.unset.push_back(axes[i].name);
                    g.label += " --unset " + axes[i].name;
                } else if (v == "on") {
                    g.set.push_back(axes[i].name);
                    g.label += " --set " + axes[i].name;
                } else {
                    g.set.push_back(axes[i].name + "=" + v);
                    g.label += " --set " + axes[i].name + "=" + v;
                }
            }
            configs.push_back(g);
        }
    }
    return configs;
}

std::vector<GridCell> grid_cells(const std::vector<GridConfig>& configs,
                                 const std::vector<std::string>& scenarios) {
    std::vector<GridCell> cells;
    for (std::size_t c = 0; c < configs.size(); ++c) {
        for (const std::string& s : scenarios) {
            cells.push_back({configs[c].id + "/" + s, c, s});
        }
    }
    return cells;
}

std::pair<unsigned, unsigned> parse_shard(const std::string& text) {
    const std::size_t slash = text.find('/');
    if (slash != std::string::npos) {
        const auto index = whole_number(std::string_view(text).substr(0, slash));
        const auto count = whole_number(std::string_view(text).substr(slash + 1));
        if (index && count && *index >= 1 && *index <= *count && *count <= kMostShards) {
            return {static_cast<unsigned>(*index), static_cast<unsigned>(*count)};
        }
    }
    throw UserError(
        fmt::format("--shard needs I/N with 1 <= I <= N <= {}, not '{}'", kMostShards, text),
        kExitBadInput);
}

std::vector<GridCell> shard_cells(const std::vector<GridCell>& cells, unsigned index,
                                  unsigned count) {
    // Contiguous, balanced runs of the grid order: cells of one config stay
    // together, so each machine builds only its own share of the configs.
    const std::size_t begin = cells.size() * (index - 1) / count;
    const std::size_t end = cells.size() * index / count;
    return std::vector<GridCell>(cells.begin() + static_cast<std::ptrdiff_t>(begin),
                                 cells.begin() + static_cast<std::ptrdiff_t>(end));
}

} // namespace tlsheap::pipeline
