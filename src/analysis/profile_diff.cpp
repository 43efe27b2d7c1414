#include "analysis/profile_diff.h"

#include "tlsheap/number_format.h"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <map>

namespace tlsheap::analysis {

using nlohmann::json;

namespace {

using Figures = std::map<std::string, std::uint64_t>;

struct ProfileFigures {
    Figures phases;
    Figures state_peaks;
    Figures state_allocations;
};

ProfileFigures figures(const json& profile) {
    ProfileFigures f;
    for (const json& p : profile.at("phases")) {
        f.phases[p.at("phase").get<std::string>()] = p.at("peak_bytes").get<std::uint64_t>();
    }
    for (const json& s : profile.at("states")) {
        const std::string state = s.at("state").get<std::string>();
        std::uint64_t& peak = f.state_peaks[state];
        peak = std::max(peak, s.at("peak_bytes").get<std::uint64_t>());
        f.state_allocations[state] += s.at("allocations").get<std::uint64_t>();
    }
    return f;
}

CellSide side(const CellMetrics& c) {
    CellSide s;
    s.mbedtls_version = c.mbedtls_version;
    s.ok = c.ok;
    s.error = c.error;
    s.profiled = c.profile != nullptr;
    return s;
}

// Keys made unique by occurrence ("key", "key #2", ...), so a sweep that
// repeats a cell pairs its n-th run with the other side's n-th run.
std::vector<std::string> labels(const std::vector<CellMetrics>& cells) {
    std::map<std::string, unsigned> seen;
    std::vector<std::string> out;
    for (const CellMetrics& c : cells) {
        const unsigned n = ++seen[c.key];
        out.push_back(n == 1 ? c.key : c.key + " #" + std::to_string(n));
    }
    return out;
}

std::vector<CellMetrics> read_cells(const json& doc, const char* side) {
    try {
        return cell_metrics(doc);
    } catch (const MetricsError& e) {
        throw MetricsError(std::string(side) + ": " + e.what());
    } catch (const json::exception& e) {
        throw MetricsError(std::string(side) + ": malformed document: " + e.what());
    }
}

std::string percent_text(const Change& c) {
    if (!c.a) {
        return "new";
    }
    if (!c.b) {
        return "gone";
    }
    return c.percent ? fmt::format("{:+.1f}%", *c.percent) : std::string();
}

json optional_json(const std::optional<std::uint64_t>& v) {
    return v ? json(*v) : json(nullptr);
}

json changes_json(const std::vector<Change>& list) {
    json out = json::array();
    for (const Change& c : list) {
        out.push_back({{"name", c.name},
                       {"a", optional_json(c.a)},
                       {"b", optional_json(c.b)},
                       {"delta", c.delta},
                       {"percent", c.percent ? json(*c.percent) : json(nullptr)}});
    }
    return out;
}

json side_json(const CellSide& s) {
    return {{"mbedtls_version", s.mbedtls_version},
            {"ok", s.ok},
            {"error", s.error.empty() ? json(nullptr) : json(s.error)},
            {"profiled", s.profiled}};
}

std::string side_status(const CellSide& s) {
    if (!s.profiled) {
        return "no profile" + (s.error.empty() ? std::string() : " (" + s.error + ")");
    }
    return s.ok ? "completed" : "FAILED: " + s.error;
}

} // namespace

std::vector<Change> figure_changes(const std::map<std::string, std::uint64_t>& a,
                                   const std::map<std::string, std::uint64_t>& b) {
    std::map<std::string, Change> all;
    for (const auto& [name, value] : a) {
        all[name].a = value;
    }
    for (const auto& [name, value] : b) {
        all[name].b = value;
    }
    std::vector<Change> out;
    for (auto& [name, c] : all) {
        c.name = name;
        c.delta =
            static_cast<std::int64_t>(c.b.value_or(0)) - static_cast<std::int64_t>(c.a.value_or(0));
        if (c.delta == 0) {
            continue;
        }
        if (c.a && *c.a > 0) {
            c.percent = static_cast<double>(c.delta) * 100.0 / static_cast<double>(*c.a);
        }
        out.push_back(c);
    }
    std::stable_sort(out.begin(), out.end(), [](const Change& x, const Change& y) {
        const auto ax = std::llabs(x.delta);
        const auto ay = std::llabs(y.delta);
        return ax != ay ? ax > ay : x.name < y.name;
    });
    return out;
}

bool CellDiff::changed() const {
    return a.profiled != b.profiled || a.ok != b.ok || !metrics.empty() || !phases.empty() ||
           !state_peaks.empty() || !state_allocations.empty() || !call_sites.empty();
}

ProfileDiff diff_profiles(const json& a, const json& b) {
    ProfileDiff d;
    const std::vector<CellMetrics> ca = read_cells(a, "A");
    const std::vector<CellMetrics> cb = read_cells(b, "B");
    d.a_kind = a.at("kind").get<std::string>();
    d.b_kind = b.at("kind").get<std::string>();
    const std::vector<std::string> la = labels(ca);
    const std::vector<std::string> lb = labels(cb);
    std::map<std::string, std::size_t> b_index;
    for (std::size_t i = 0; i < lb.size(); ++i) {
        b_index[lb[i]] = i;
    }
    std::vector<bool> b_paired(cb.size(), false);
    try {
        for (std::size_t i = 0; i < ca.size(); ++i) {
            const auto found = b_index.find(la[i]);
            if (found == b_index.end()) {
                d.only_in_a.push_back(la[i]);
                continue;
            }
            b_paired[found->second] = true;
            const CellMetrics& x = ca[i];
            const CellMetrics& y = cb[found->second];
            CellDiff cell;
            cell.key = la[i];
            cell.scenario = x.scenario;
            cell.config = x.config;
            cell.abi = x.abi;
            cell.a = side(x);
            cell.b = side(y);
            if (cell.comparable()) {
                cell.metrics = figure_changes(x.values, y.values);
                cell.call_sites = figure_changes(x.sites, y.sites);
                const ProfileFigures fx = figures(*x.profile);
                const ProfileFigures fy = figures(*y.profile);
                cell.phases = figure_changes(fx.phases, fy.phases);
                cell.state_peaks = figure_changes(fx.state_peaks, fy.state_peaks);
                cell.state_allocations = figure_changes(fx.state_allocations, fy.state_allocations);
            }
            d.cells.push_back(std::move(cell));
        }
    } catch (const json::exception& e) {
        throw MetricsError(std::string("malformed profile: ") + e.what());
    }
    for (std::size_t i = 0; i < cb.size(); ++i) {
        if (!b_paired[i]) {
            d.only_in_b.push_back(lb[i]);
        }
    }
    return d;
}

json diff_json(const ProfileDiff& d, const std::string& a_file, const std::string& b_file) {
    json cells = json::array();
    std::size_t changed = 0;
    std::size_t incomparable = 0;
    for (const CellDiff& c : d.cells) {
        changed += c.changed() ? 1 : 0;
        incomparable += c.comparable() ? 0 : 1;
        cells.push_back({{"key", c.key},
                         {"scenario", c.scenario},
                         {"config", c.config},
                         {"abi", c.abi},
                         {"a", side_json(c.a)},
                         {"b", side_json(c.b)},
                         {"comparable", c.comparable()},
                         {"changed", c.changed()},
                         {"metrics", changes_json(c.metrics)},
                         {"phases", changes_json(c.phases)},
                         {"state_peaks", changes_json(c.state_peaks)},
                         {"state_allocations", changes_json(c.state_allocations)},
                         {"call_sites", changes_json(c.call_sites)}});
    }
    return {{"schema_version", kDiffSchemaVersion},
            {"kind", "tlsheap.diff"},
            {"a", {{"file", a_file}, {"kind", d.a_kind}}},
            {"b", {{"file", b_file}, {"kind", d.b_kind}}},
            {"summary",
             {{"paired", d.cells.size()},
              {"changed", changed},
              {"not_comparable", incomparable},
              {"only_in_a", d.only_in_a.size()},
              {"only_in_b", d.only_in_b.size()}}},
            {"cells", cells},
            {"only_in_a", d.only_in_a},
            {"only_in_b", d.only_in_b}};
}

void print_diff(std::FILE* out, const ProfileDiff& d, const std::string& a_file,
                const std::string& b_file, unsigned top) {
    auto line = [&](const std::string& s) { std::fputs((s + "\n").c_str(), out); };
    std::size_t changed = 0;
    std::size_t incomparable = 0;
    for (const CellDiff& c : d.cells) {
        changed += c.changed() ? 1 : 0;
        incomparable += c.comparable() ? 0 : 1;
    }
    line(fmt::format("tlsheap diff: A {} ({}) -> B {} ({})", a_file, d.a_kind, b_file, d.b_kind));
    line(fmt::format("  {} cell{} paired: {} changed, {} unchanged; {} only in A, {} only in B",
                     d.cells.size(), d.cells.size() == 1 ? "" : "s", changed,
                     d.cells.size() - changed, d.only_in_a.size(), d.only_in_b.size()));
    if (incomparable > 0) {
        line(fmt::format("  {} paired cell{} not compared: no profile on one side or both",
                         incomparable, incomparable == 1 ? "" : "s"));
    }
    auto section = [&](const std::string& title, const std::vector<Change>& list) {
        if (list.empty()) {
            return;
        }
        line("  " + title);
        for (std::size_t i = 0; i < list.size() && i < top; ++i) {
            const Change& c = list[i];
            line(fmt::format("    {:>10} -> {:<10} {:>9} {:>7}  {}",
                             c.a ? grouped(*c.a) : std::string("-"),
                             c.b ? grouped(*c.b) : std::string("-"), signed_grouped(c.delta),
                             percent_text(c), c.name));
        }
        if (list.size() > top) {
            line(fmt::format("    ... and {} more", list.size() - top));
        }
    };
    for (const CellDiff& c : d.cells) {
        if (!c.changed()) {
            continue;
        }
        line("");
        line(c.key);
        if (c.a.mbedtls_version != c.b.mbedtls_version) {
            line(fmt::format("  mbedTLS {} -> {}", c.a.mbedtls_version, c.b.mbedtls_version));
        }
        if (!c.comparable() || c.a.ok != c.b.ok) {
            line(fmt::format("  A: {}", side_status(c.a)));
            line(fmt::format("  B: {}", side_status(c.b)));
        }
        if (!c.comparable()) {
            line("  not compared: one side has no profile");
            continue;
        }
        line(fmt::format("    {:>10}    {:<10} {:>9}", "A", "B", "change"));
        section("headline (bytes)", c.metrics);
        section("peak by phase (bytes)", c.phases);
        section("peak by handshake state (bytes)", c.state_peaks);
        section("allocations by handshake state", c.state_allocations);
        section("alive at the live peak, by call site (bytes)", c.call_sites);
    }
    if (!d.only_in_a.empty()) {
        line("");
        line("only in A:");
        for (const std::string& k : d.only_in_a) {
            line("  " + k);
        }
    }
    if (!d.only_in_b.empty()) {
        line("");
        line("only in B:");
        for (const std::string& k : d.only_in_b) {
            line("  " + k);
        }
    }
    if (changed == 0 && d.only_in_a.empty() && d.only_in_b.empty()) {
        line("  no differences");
    }
}

} // namespace tlsheap::analysis
