#include "report/json_text.h"

namespace tlsheap::report {

std::string json_text(const nlohmann::json& document, int indent) {
    return document.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string valid_utf8(const std::string& text) {
    return nlohmann::json::parse(json_text(nlohmann::json(text))).get<std::string>();
}

} // namespace tlsheap::report
