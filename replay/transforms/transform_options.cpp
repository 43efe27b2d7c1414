#include "transform_options.h"

#include <charconv>

namespace tlsheap::replay {

TransformOptions::TransformOptions(std::string transform, std::string accepted,
                                   const std::vector<std::pair<std::string, std::string>>& given)
    : transform_(std::move(transform)), accepted_(std::move(accepted)), given_(given),
      used_(given.size(), false) {
    for (std::size_t i = 0; i < given_.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (given_[i].first == given_[j].first)
                throw TransformError("option '" + given_[i].first + "' given twice for transform " +
                                     transform_);
}

std::optional<std::string> TransformOptions::take(std::string_view key) {
    for (std::size_t i = 0; i < given_.size(); ++i)
        if (given_[i].first == key) {
            used_[i] = true;
            return given_[i].second;
        }
    return std::nullopt;
}

void TransformOptions::bad_value(std::string_view key, std::string_view value,
                                 std::string_view expected) const {
    throw TransformError("bad value '" + std::string(value) + "' for option '" + std::string(key) +
                         "' of transform " + transform_ + " (expected " + std::string(expected) +
                         ")");
}

bool TransformOptions::on_off(std::string_view key, bool fallback) {
    const std::optional<std::string> value = take(key);
    if (!value)
        return fallback;
    if (*value == "on")
        return true;
    if (*value == "off")
        return false;
    bad_value(key, *value, "on or off");
}

std::uint64_t TransformOptions::number(std::string_view key, std::uint64_t fallback,
                                       std::uint64_t min, std::uint64_t max) {
    const std::optional<std::string> value = take(key);
    if (!value)
        return fallback;
    std::uint64_t number = 0;
    const char* first = value->data();
    const char* last = first + value->size();
    const auto [end, error] = std::from_chars(first, last, number);
    if (value->empty() || error != std::errc() || end != last || number < min || number > max)
        bad_value(key, *value,
                  "a number of bytes from " + std::to_string(min) + " to " + std::to_string(max));
    return number;
}

void TransformOptions::finish() const {
    for (std::size_t i = 0; i < given_.size(); ++i)
        if (!used_[i])
            throw TransformError("unknown option '" + given_[i].first + "' for transform " +
                                 transform_ +
                                 " (options: " + (accepted_.empty() ? "none" : accepted_) + ")");
}

} // namespace tlsheap::replay
