#include "report/dashboard_formats.h"

#include <map>
#include <set>

namespace tlsheap::report {

using nlohmann::json;

namespace {

// Bencher identifies a measure by slug up to this length.
constexpr std::size_t kBencherSlugMax = 64;

// The cells a dashboard gets: completed runs, once per name. A sweep that
// repeats a cell gives the same name twice; identical figures are one point,
// differing ones cannot be plotted as one.
std::vector<const analysis::CellMetrics*>
plotted_cells(const std::vector<analysis::CellMetrics>& cells) {
    std::vector<const analysis::CellMetrics*> out;
    std::map<std::string, const analysis::CellMetrics*> by_name;
    for (const analysis::CellMetrics& c : cells) {
        if (!c.ok || c.values.empty()) {
            continue;
        }
        const std::string name = dashboard_cell_name(c);
        const auto [it, inserted] = by_name.emplace(name, &c);
        if (!inserted) {
            if (it->second->values != c.values) {
                throw analysis::MetricsError(
                    "cell " + c.key +
                    " appears twice with different figures: a dashboard series "
                    "cannot hold both");
            }
            continue;
        }
        out.push_back(&c);
    }
    if (out.empty()) {
        throw analysis::MetricsError("no completed run in the document: nothing to export");
    }
    return out;
}

json benchmark_action(const std::vector<const analysis::CellMetrics*>& cells) {
    json entries = json::array();
    for (const analysis::CellMetrics* c : cells) {
        const std::string cell = dashboard_cell_name(*c);
        for (const std::string& metric : ordered_metric_names(*c)) {
            // Newlines become separate lines in the chart's tooltip.
            entries.push_back({{"name", cell + " " + metric},
                               {"unit", "bytes"},
                               {"value", c->values.at(metric)},
                               {"extra", analysis::metric_description(metric) + "\nmbedTLS " +
                                             c->mbedtls_version + "\n" + c->key}});
        }
    }
    return entries;
}

json bmf(const std::vector<const analysis::CellMetrics*>& cells) {
    json doc = json::object();
    for (const analysis::CellMetrics* c : cells) {
        json measures = json::object();
        std::map<std::string, std::string> slugs; // slug -> metric, to catch collisions
        for (const std::string& metric : ordered_metric_names(*c)) {
            const std::string slug = bencher_slug(metric);
            if (slug.empty()) {
                throw analysis::MetricsError("metric " + metric + " has no Bencher slug");
            }
            const auto [it, inserted] = slugs.emplace(slug, metric);
            if (!inserted) {
                throw analysis::MetricsError("metrics " + it->second + " and " + metric +
                                             " have the same Bencher slug " + slug);
            }
            measures[slug] = {{"value", c->values.at(metric)}};
        }
        doc[dashboard_cell_name(*c)] = measures;
    }
    return doc;
}

} // namespace

const std::vector<std::string>& dashboard_formats() {
    static const std::vector<std::string> formats = {"benchmark-action", "bmf"};
    return formats;
}

std::string dashboard_cell_name(const analysis::CellMetrics& cell) {
    return cell.scenario + " [" + cell.abi + ", " + cell.config + "]";
}

std::vector<std::string> ordered_metric_names(const analysis::CellMetrics& cell) {
    std::vector<std::string> names;
    std::set<std::string> seen;
    auto add = [&](const std::string& name) {
        if (cell.values.count(name) != 0 && seen.insert(name).second) {
            names.push_back(name);
        }
    };
    add("live_peak");
    add("steady_state");
    if (cell.profile != nullptr && cell.profile->contains("models")) {
        for (const json& m : cell.profile->at("models")) {
            const std::string model = m.value("name", std::string());
            add(model + ".footprint");
            add(model + ".min_pool");
        }
    }
    for (const auto& [name, value] : cell.values) {
        add(name); // anything else, in name order
    }
    return names;
}

std::string bencher_slug(const std::string& name) {
    std::string slug;
    bool dash = false;
    for (const char ch : name) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            slug += static_cast<char>(c);
            dash = false;
        } else if (c >= 'A' && c <= 'Z') {
            slug += static_cast<char>(c - 'A' + 'a');
            dash = false;
        } else if (!dash && !slug.empty()) {
            slug += '-';
            dash = true;
        }
    }
    if (slug.size() > kBencherSlugMax) {
        slug.resize(kBencherSlugMax);
    }
    while (!slug.empty() && slug.back() == '-') {
        slug.pop_back();
    }
    return slug;
}

json dashboard_document(const json& doc, const std::string& format) {
    if (format != "benchmark-action" && format != "bmf") {
        throw analysis::MetricsError("unknown dashboard format '" + format +
                                     "' (known: benchmark-action, bmf)");
    }
    std::vector<analysis::CellMetrics> cells;
    try {
        cells = analysis::cell_metrics(doc);
    } catch (const json::exception& e) {
        throw analysis::MetricsError(std::string("malformed document: ") + e.what());
    }
    const std::vector<const analysis::CellMetrics*> plotted = plotted_cells(cells);
    return format == "bmf" ? bmf(plotted) : benchmark_action(plotted);
}

} // namespace tlsheap::report
