#include "report/connection_costs_table.h"

#include "tlsheap/connection_costs.h"
#include "tlsheap/number_format.h"

#include <fmt/format.h>
#include <string>

namespace tlsheap::report {

namespace {

std::string prefix_label(std::uint32_t k) {
    if (k == 0) {
        return "shared part only";
    }
    return k == 1 ? "+ connection 1" : fmt::format("+ connections 1..{}", k);
}

// Prefixes always printed (shared part, first connections).
constexpr std::uint32_t kRowsAlwaysShown = 4;

std::string signed_grouped(std::int64_t v) {
    return v < 0 ? "-" + grouped(static_cast<std::uint64_t>(-v))
                 : "+" + grouped(static_cast<std::uint64_t>(v));
}

} // namespace

void print_connection_costs(std::FILE* out, const replay::ReplayResult& r) {
    if (!r.connection_costs) {
        return;
    }
    const replay::ConnectionCosts& c = *r.connection_costs;
    auto line = [&](const std::string& s) { std::fputs((s + "\n").c_str(), out); };
    line(fmt::format("Connection costs   {} connections, at most {} holding memory at once",
                     c.connections, c.most_open));
    line(fmt::format("  shared part      connection 0: peak {} bytes, {} held when the first "
                     "connection began",
                     grouped(c.shared_peak), grouped(c.shared_steady)));
    std::string header = fmt::format("  {:<22} {:>10} {:>9}", "replayed with", "live peak", "cost");
    const bool models = c.most_open >= 2;
    if (models) {
        for (const replay::ModelRun& m : r.models) {
            header += fmt::format("  {:>16} {:>9}", m.name, "cost");
        }
    }
    line(header);
    // Many connections (100 reconnects): the first rows, the last, and any
    // whose live cost differs from the row before; JSON has every row.
    std::size_t elided = 0;
    for (const replay::ConnectionPrefix& p : c.prefixes) {
        const std::uint32_t k = p.connections;
        if (k > kRowsAlwaysShown && k + 1 < c.prefixes.size() &&
            marginal_live(c, k) == marginal_live(c, k - 1)) {
            ++elided;
            continue;
        }
        if (elided > 0) {
            line(fmt::format("  ... {} row{} with the same cost", elided, elided == 1 ? "" : "s"));
            elided = 0;
        }
        std::string row =
            fmt::format("  {:<22} {:>10} {:>9}", prefix_label(p.connections), grouped(p.live_peak),
                        p.connections == 0 ? "" : signed_grouped(marginal_live(c, p.connections)));
        if (models && !p.footprint.empty()) {
            for (std::size_t i = 0; i < p.footprint.size(); ++i) {
                row += fmt::format("  {:>16} {:>9}", grouped(p.footprint[i]),
                                   p.connections == 0
                                       ? ""
                                       : signed_grouped(marginal_footprint(c, p.connections, i)));
            }
        }
        line(row.substr(0, row.find_last_not_of(' ') + 1));
    }
    if (!models) {
        line("  (connections never held memory together, as in reconnects: no marginal cost "
             "to replay through the models)");
    } else if (c.connections > replay::kMaxReplayedPrefixes) {
        line(fmt::format("  (footprints replayed for up to {} connections)",
                         replay::kMaxReplayedPrefixes));
    }
    std::string own = "  own peak         ";
    for (std::size_t i = 0; i < c.own_peak.size(); ++i) {
        own += fmt::format("{}#{} {}", i == 0 ? "" : ", ", i + 1, grouped(c.own_peak[i]));
        if (i == 15 && c.own_peak.size() > 17) {
            own += fmt::format(", ... ({} more)", c.own_peak.size() - 16);
            break;
        }
    }
    line(own);
    line("");
}

} // namespace tlsheap::report
