#include "analysis/gate_policy.h"

#include "analysis/profile_diff.h"
#include "tlsheap/number_text.h"
#include "tlsheap/user_error.h"

#include <algorithm>
#include <fmt/format.h>

namespace tlsheap::analysis {

GateThreshold GateThreshold::parse(const std::string& text) {
    GateThreshold t;
    if (text.ends_with('%')) {
        t.percent = decimal_number(std::string_view(text).substr(0, text.size() - 1));
    } else if (text.find('.') != std::string::npos && decimal_number(text)) {
        throw UserError("--max-increase in bytes is a whole number, not '" + text + "'",
                        kExitBadInput);
    } else {
        t.bytes = whole_number(text);
    }
    if (!t.percent && !t.bytes) {
        throw UserError("--max-increase is bytes or a percentage (0, 512, 2%), not '" + text + "'",
                        kExitBadInput);
    }
    return t;
}

bool GateThreshold::allows(std::uint64_t baseline, std::uint64_t current) const {
    if (current <= baseline) {
        return true;
    }
    const std::uint64_t growth = current - baseline;
    if (bytes) {
        return growth <= *bytes;
    }
    return baseline > 0 &&
           static_cast<double>(growth) * 100.0 <= *percent * static_cast<double>(baseline);
}

bool GateThreshold::allows_decrease(std::uint64_t baseline, std::uint64_t current) const {
    if (current >= baseline) {
        return true;
    }
    const std::uint64_t fall = baseline - current;
    if (bytes) {
        return fall <= *bytes;
    }
    return static_cast<double>(fall) * 100.0 <= *percent * static_cast<double>(baseline);
}

std::string GateThreshold::describe() const {
    return bytes ? fmt::format("{} B", *bytes) : fmt::format("{}%", *percent);
}

namespace {

// The family of a metric name ("mbedtls-pool.footprint" -> "footprint").
std::string family(const std::string& metric) {
    const auto dot = metric.find('.');
    return dot == std::string::npos ? metric : metric.substr(dot + 1);
}

std::string first_and_count(const std::vector<std::string>& keys) {
    return keys.front() + (keys.size() > 1 ? fmt::format(" (+{} more)", keys.size() - 1) : "");
}

} // namespace

bool gated(const std::string& metric) {
    const std::string f = family(metric);
    return f == "live_peak" || f == "footprint" || f == "min_pool" || f == "leak_per_cycle" ||
           f == "marginal_cost" || shrinking_regresses(metric);
}

bool shrinking_regresses(const std::string& metric) {
    const std::string f = family(metric);
    return f == "heap_lowest_free" || f == "heap_smallest_largest_free_block";
}

GateThresholds GateThresholds::parse(const std::vector<std::string>& specs) {
    GateThresholds t;
    t.all.bytes = 0;
    for (const std::string& spec : specs) {
        const auto eq = spec.find('=');
        if (eq == std::string::npos) {
            t.all = GateThreshold::parse(spec);
            continue;
        }
        const std::string name = spec.substr(0, eq);
        if (!gated(name)) {
            throw UserError("--max-increase " + spec +
                                ": the gate compares live_peak, footprint, min_pool, "
                                "leak_per_cycle, marginal_cost, heap_lowest_free and "
                                "heap_smallest_largest_free_block (optionally MODEL.footprint, "
                                "MODEL.min_pool, MODEL.marginal_cost, MODEL.heap_...), not '" +
                                name + "'",
                            kExitBadInput);
        }
        t.by_name[name] = GateThreshold::parse(spec.substr(eq + 1));
    }
    return t;
}

const GateThreshold& GateThresholds::for_metric(const std::string& metric) const {
    if (auto it = by_name.find(metric); it != by_name.end()) {
        return it->second;
    }
    if (auto it = by_name.find(family(metric)); it != by_name.end()) {
        return it->second;
    }
    return all;
}

GateVerdict judge(const std::vector<CellMetrics>& baseline, const std::vector<CellMetrics>& current,
                  const GateThresholds& thresholds) {
    std::map<std::string, const CellMetrics*> base_by_key;
    std::map<std::string, const CellMetrics*> cur_by_key;
    for (const auto& c : baseline) {
        base_by_key[c.key] = &c;
    }
    for (const auto& c : current) {
        cur_by_key[c.key] = &c;
    }
    std::vector<std::string> only_base;
    std::vector<std::string> only_current;
    for (const auto& [k, c] : base_by_key) {
        if (!cur_by_key.count(k)) {
            only_base.push_back(k);
        }
    }
    for (const auto& [k, c] : cur_by_key) {
        if (!base_by_key.count(k)) {
            only_current.push_back(k);
        }
    }
    if (!only_base.empty() || !only_current.empty()) {
        std::string msg = "the baseline and the current run cover different cells";
        if (!only_base.empty()) {
            msg += "; only in the baseline: " + first_and_count(only_base);
        }
        if (!only_current.empty()) {
            msg += "; only in the current run: " + first_and_count(only_current);
        }
        throw UserError(msg, kExitBadInput);
    }

    GateVerdict v;
    v.cells = base_by_key.size();
    for (const auto& [key, base] : base_by_key) {
        const CellMetrics& cur = *cur_by_key.at(key);
        if (base->mbedtls_version != cur.mbedtls_version) {
            v.notes.push_back(key + ": mbedTLS " + base->mbedtls_version + " in the baseline, " +
                              cur.mbedtls_version + " now");
        }
        if (base->ok && !cur.ok) {
            ++v.regressions;
            GateComparison c;
            c.cell = key;
            c.metric = "handshake";
            c.baseline = 1;
            c.current = 0;
            c.delta = -1;
            c.regressed = true;
            c.error = cur.error;
            v.comparisons.push_back(std::move(c));
            continue;
        }
        if (!base->ok) {
            v.notes.push_back(key + ": the baseline's handshake failed; not compared");
            continue;
        }
        bool cell_regressed = false;
        for (const auto& [metric, before] : base->values) {
            if (!gated(metric) || !cur.values.count(metric)) {
                continue;
            }
            GateComparison c;
            c.cell = key;
            c.metric = metric;
            c.baseline = before;
            c.current = cur.values.at(metric);
            c.limit = thresholds.for_metric(metric);
            c.regressed = shrinking_regresses(metric) ? !c.limit.allows_decrease(before, c.current)
                                                      : !c.limit.allows(before, c.current);
            c.delta = static_cast<std::int64_t>(c.current) - static_cast<std::int64_t>(before);
            if (before != 0) {
                c.percent = 100.0 * static_cast<double>(c.delta) / static_cast<double>(before);
            }
            ++v.compared;
            if (c.regressed) {
                ++v.regressions;
                cell_regressed = true;
            }
            v.comparisons.push_back(std::move(c));
        }
        if (cell_regressed) {
            for (const Change& c : figure_changes(base->sites, cur.sites)) {
                if (c.delta > 0) {
                    v.growths.push_back({key, c.name, c.delta});
                }
            }
        }
    }
    std::stable_sort(v.growths.begin(), v.growths.end(),
                     [](const GateGrowth& a, const GateGrowth& b) { return a.delta > b.delta; });
    return v;
}

} // namespace tlsheap::analysis
