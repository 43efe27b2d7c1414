#pragma once

#include <cstdint>
#include <string>

namespace tlsheap::report {

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

} // namespace tlsheap::report
