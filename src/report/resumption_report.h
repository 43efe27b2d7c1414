// Full vs resumed handshakes side by side (issue 10): the terminal table and
// the profile JSON's `resumption` object, both only for a trace with
// connections that resumed a session (or offered one in vain).
#pragma once

#include "tlsheap/replay_engine.h"

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace tlsheap::report {

void print_resumption(const replay::ResumptionFigures& figures, std::size_t top_sites,
                      const std::function<void(const std::string&)>& line);

nlohmann::json resumption_json(const replay::ResumptionFigures& figures);

} // namespace tlsheap::report
