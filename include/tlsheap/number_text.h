// Numbers as a person types them, in an option or a key=value spec: decimal
// digits only (no sign, space, base prefix, exponent or trailing junk), and a
// value too large for the type is refused, never wrapped. Every command
// reads its numbers through these, so "70000", "-1", "1e3", "nan" and
// "99999999999999999999" mean the same thing (or the same mistake) everywhere.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace tlsheap {

// "4096" -> 4096; "", "-1", "+1", " 1", "1k", "0x10", "1.0" and anything
// beyond 2^64-1 -> nullopt.
inline std::optional<std::uint64_t> whole_number(std::string_view text) {
    // from_chars alone would accept a leading '-' for no type here, but the
    // explicit check keeps the rule readable: digits and nothing else.
    if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// "2", "2.5" -> the number; "", ".5", "5.", "-1", "1e3", "nan", "inf" and
// digits beyond what a double holds -> nullopt. Always finite.
inline std::optional<double> decimal_number(std::string_view text) {
    const std::size_t point = text.find('.');
    const std::string_view whole = text.substr(0, point);
    const std::string_view fraction =
        point == std::string_view::npos ? std::string_view("0") : text.substr(point + 1);
    auto digits = [](std::string_view part) {
        return !part.empty() && part.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if (!digits(whole) || !digits(fraction)) {
        return std::nullopt;
    }
    double value = 0;
    const auto [end, error] =
        std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
    if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

} // namespace tlsheap
