// Byte counts as people read them, in every report and message.
#pragma once

#include <cstdint>
#include <string>

namespace tlsheap {

// 1234567 -> "1,234,567"
inline std::string grouped(std::uint64_t v) {
    std::string digits = std::to_string(v);
    std::string out;
    const std::size_t lead = digits.size() % 3;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && i >= lead && (i - lead) % 3 == 0) {
            out += ',';
        }
        out += digits[i];
    }
    return out;
}

// -4096 -> "-4,096", 12 -> "+12", 0 -> "0"
inline std::string signed_grouped(std::int64_t v) {
    if (v == 0) {
        return "0";
    }
    const std::uint64_t magnitude =
        v < 0 ? static_cast<std::uint64_t>(-(v + 1)) + 1 : static_cast<std::uint64_t>(v);
    return (v < 0 ? "-" : "+") + grouped(magnitude);
}

} // namespace tlsheap
