#include "analysis/profile_metrics.h"

#include "tlsheap/profile_document.h"

#include <algorithm>

namespace tlsheap::analysis {

using nlohmann::json;

namespace {

std::uint64_t non_negative(const json& v) {
    const std::int64_t bytes = v.get<std::int64_t>();
    return bytes < 0 ? 0 : static_cast<std::uint64_t>(bytes);
}

CellMetrics from_profile(const json& p) {
    CellMetrics c;
    c.scenario = p.at("run").at("scenario").get<std::string>();
    // The config as named portably (file name, not path), so that keys match
    // between machines and checkouts.
    c.config = p.at("variant").value("config_name", std::string());
    if (c.config.empty()) {
        // Traces recorded before config_name existed: the config as labelled.
        c.config = p.at("variant").at("config").get<std::string>();
    }
    c.abi = p.at("variant").at("abi").get<std::string>();
    c.mbedtls_version = p.at("variant").at("mbedtls_version").get<std::string>();
    c.key = c.scenario + " | " + c.config + " | " + c.abi;
    if (const json& run = p.at("run"); run.contains("trace_complete")) {
        c.trace_complete = run.at("trace_complete").get<bool>();
    }
    for (const json& o : p.at("outcomes")) {
        if (o.at("kind") == "failure") {
            c.ok = false;
            c.error = o.at("text").get<std::string>() + " (state " +
                      o.at("state").get<std::string>() + ")";
        }
    }
    c.values["live_peak"] = p.at("live_peak").at("bytes").get<std::uint64_t>();
    const json& steady = p.at("steady_state").at("live_after_handshake");
    if (!steady.is_null()) {
        c.values["steady_state"] = steady.get<std::uint64_t>();
    }
    for (const json& m : p.at("models")) {
        const std::string name = m.at("name").get<std::string>();
        c.values[name + ".footprint"] = m.at("footprint").get<std::uint64_t>();
        if (!m.at("min_pool").is_null()) {
            c.values[name + ".min_pool"] = m.at("min_pool").get<std::uint64_t>();
        }
        // With --heap: the headroom. A run that does not fit has none left.
        if (m.contains("heap")) {
            const json& heap = m.at("heap");
            const bool fits = heap.at("fits").get<bool>() && !heap.at("lowest_free").is_null();
            c.values[name + ".heap_lowest_free"] =
                fits ? heap.at("lowest_free").at("free_bytes").get<std::uint64_t>() : 0;
            c.values[name + ".heap_smallest_largest_free_block"] =
                fits ? heap.at("smallest_largest_free_block")
                           .at("largest_free_block")
                           .get<std::uint64_t>()
                     : 0;
        }
    }
    // A lifecycle of several cycles: the most one cycle leaked.
    if (p.contains("cycles")) {
        std::uint64_t most = 0;
        for (const json& cycle : p.at("cycles")) {
            most = std::max(most, cycle.at("leaked").get<std::uint64_t>());
        }
        c.values["leak_per_cycle"] = most;
    }
    // Traces of concurrent connections: the dearest further connection.
    if (const auto costs = p.find("connection_costs");
        costs != p.end() && !costs->at("marginal_cost").is_null()) {
        const json& marginal = costs->at("marginal_cost");
        c.values["marginal_cost"] = non_negative(marginal.at("live"));
        for (const auto& [name, bytes] : marginal.at("models").items()) {
            c.values[name + ".marginal_cost"] = non_negative(bytes);
        }
    }
    for (const json& s : p.at("alive_at_peak")) {
        c.sites[s.at("call_site").get<std::string>()] += s.at("bytes").get<std::uint64_t>();
    }
    c.profile = &p;
    return c;
}

} // namespace

// A cell recorded --repeat N times stands for the median of each figure.
void apply_repeats(const json& cell, CellMetrics& c) {
    if (!cell.contains("repeats") || !cell.at("repeats").is_object()) {
        return;
    }
    for (const auto& [name, values] : cell.at("repeats").items()) {
        std::vector<std::uint64_t> v = values.get<std::vector<std::uint64_t>>();
        if (v.empty()) {
            continue;
        }
        std::sort(v.begin(), v.end());
        // The lower median for an even count: a figure one of the runs really had.
        c.values[name] = v[(v.size() - 1) / 2];
    }
}

std::vector<CellMetrics> cell_metrics(const json& document) {
    if (!document.is_object() || !document.contains("kind") ||
        !document.contains("schema_version")) {
        throw MetricsError("not a tlsheap document (no kind/schema_version)");
    }
    const std::string kind = document.at("kind").get<std::string>();
    const int version = document.at("schema_version").get<int>();
    if (version != kProfileSchemaVersion) {
        throw MetricsError("schema version " + std::to_string(version) + " of " + kind +
                           " (this tlsheap reads version " + std::to_string(kProfileSchemaVersion) +
                           ")");
    }
    std::vector<CellMetrics> cells;
    try {
        if (kind == "tlsheap.profile") {
            cells.push_back(from_profile(document));
        } else if (kind == "tlsheap.profile-abis") {
            for (const json& p : document.at("profiles")) {
                cells.push_back(from_profile(p));
            }
        } else if (kind == "tlsheap.sweep") {
            for (const json& cell : document.at("cells")) {
                if (cell.contains("profile") && !cell.at("profile").is_null()) {
                    cells.push_back(from_profile(cell.at("profile")));
                    apply_repeats(cell, cells.back());
                } else {
                    CellMetrics c;
                    c.scenario = cell.at("scenario").get<std::string>();
                    c.config = cell.at("config_label").get<std::string>();
                    c.abi = cell.at("abi").get<std::string>();
                    c.key = c.scenario + " | " + c.config + " | " + c.abi;
                    c.ok = false;
                    c.error = cell.value("error", std::string("no profile"));
                    cells.push_back(c);
                }
            }
        } else {
            throw MetricsError("a " + kind + " document has no profile figures");
        }
    } catch (const json::exception& e) {
        throw MetricsError("malformed " + kind + " document: " + e.what());
    }
    return cells;
}

std::string metric_description(const std::string& name) {
    if (name == "live_peak") {
        return "most requested bytes alive at once";
    }
    if (name == "marginal_cost") {
        return "what one more concurrent connection adds to the live peak";
    }
    if (name == "steady_state") {
        return "requested bytes alive after the handshake";
    }
    if (name == "leak_per_cycle") {
        return "most requested bytes one reconnect cycle left allocated";
    }
    const auto dot = name.find('.');
    const std::string model = name.substr(0, dot);
    const std::string what = dot == std::string::npos ? "" : name.substr(dot + 1);
    if (what == "footprint") {
        return "highest pool byte touched by " + model + " (headers, alignment included)";
    }
    if (what == "min_pool") {
        return "smallest " + model + " pool the run fits in";
    }
    if (what == "heap_lowest_free") {
        return "lowest free bytes " + model + " reports on the --heap (0: it does not fit)";
    }
    if (what == "heap_smallest_largest_free_block") {
        return "smallest largest free block " + model +
               " reports on the --heap (0: it does not fit)";
    }
    if (what == "marginal_cost") {
        return "what one more concurrent connection adds to " + model + "'s footprint";
    }
    return name;
}

} // namespace tlsheap::analysis
