// The hand-built documents under fixtures/, shared by the report tests (and
// checked against the JSON schemas by the integration tests).
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace tlsheap::report::testing {

inline nlohmann::json fixture(const std::string& name) {
    std::ifstream in(std::string(TLSHEAP_REPORT_FIXTURES) + "/" + name);
    return nlohmann::json::parse(in);
}

} // namespace tlsheap::report::testing
