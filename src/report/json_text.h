// JSON as text, whatever the strings hold. Strings from traces and configs
// may hold bytes that are not UTF-8 (a label, a path, a hostile trace's
// names): each such byte is written as U+FFFD instead of failing the whole
// document.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tlsheap::report {

// A document as text (indent < 0: on one line).
std::string json_text(const nlohmann::json& document, int indent = -1);

// `text` with every byte that is not UTF-8 replaced by U+FFFD, for formats
// whose strings must be UTF-8 (protobuf's).
std::string valid_utf8(const std::string& text);

} // namespace tlsheap::report
