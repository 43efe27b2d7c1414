// The hand-built documents in this folder, shared by the analysis and report tests (and
// checked against the JSON schemas by the integration tests).
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace tlsheap::testing {

inline nlohmann::json fixture(const std::string& name) {
    std::ifstream in(std::string(TLSHEAP_REPORT_FIXTURES) + "/" + name);
    return nlohmann::json::parse(in);
}

} // namespace tlsheap::testing
