// The `connection_costs` object of a profile document
// (docs/json-schema/profile.schema.json).
#pragma once

#include "tlsheap/replay_engine.h"

#include <nlohmann/json.hpp>
#include <vector>

namespace tlsheap::report {

nlohmann::json connection_costs_json(const replay::ConnectionCosts& costs,
                                     const std::vector<replay::ModelRun>& models);

} // namespace tlsheap::report
