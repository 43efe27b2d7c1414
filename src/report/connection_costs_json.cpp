#include "report/connection_costs_json.h"

#include "tlsheap/connection_costs.h"

#include <algorithm>

namespace tlsheap::report {

using nlohmann::json;

json connection_costs_json(const replay::ConnectionCosts& c,
                           const std::vector<replay::ModelRun>& models) {
    json prefixes = json::array();
    for (const replay::ConnectionPrefix& p : c.prefixes) {
        json by_model = json::array();
        for (std::size_t i = 0; i < p.footprint.size() && i < models.size(); ++i) {
            by_model.push_back({{"name", models[i].name},
                                {"footprint", p.footprint[i]},
                                {"cost", p.connections == 0 ? json(nullptr)
                                                            : json(replay::marginal_footprint(
                                                                  c, p.connections, i))}});
        }
        prefixes.push_back(
            {{"connections", p.connections},
             {"live_peak", p.live_peak},
             {"cost",
              p.connections == 0 ? json(nullptr) : json(replay::marginal_live(c, p.connections))},
             {"models", by_model}});
    }
    // The gate's figure: what the dearest further connection added, when
    // connections were open together (null for reconnects or one connection).
    json marginal = nullptr;
    if (c.most_open >= 2 && c.prefixes.size() >= 3) {
        std::int64_t live = 0;
        json by_model = json::object();
        for (std::uint32_t k = 2; k < c.prefixes.size(); ++k) {
            live = std::max(live, replay::marginal_live(c, k));
            for (std::size_t i = 0; i < c.prefixes[k].footprint.size() && i < models.size(); ++i) {
                const std::int64_t cost =
                    std::max<std::int64_t>(0, replay::marginal_footprint(c, k, i));
                by_model[models[i].name] =
                    std::max(by_model.value(models[i].name, std::int64_t{0}), cost);
            }
        }
        marginal = {{"live", live}, {"models", by_model}};
    }
    return {{"connections", c.connections}, {"most_open", c.most_open},
            {"shared_peak", c.shared_peak}, {"shared_steady", c.shared_steady},
            {"own_peak", c.own_peak},       {"prefixes", prefixes},
            {"marginal_cost", marginal}};
}

} // namespace tlsheap::report
