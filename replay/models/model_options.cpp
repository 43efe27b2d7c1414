#include "model_options.h"

#include <bit>
#include <charconv>

namespace tlsheap::replay {

ModelOptions::ModelOptions(std::string model, std::string accepted,
                           const std::vector<std::pair<std::string, std::string>>& given)
    : model_(std::move(model)), accepted_(std::move(accepted)), given_(given),
      used_(given.size(), false) {
    for (std::size_t i = 0; i < given_.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (given_[i].first == given_[j].first)
                throw ModelError("option '" + given_[i].first + "' given twice for model " +
                                 model_);
}

std::optional<std::string> ModelOptions::take(std::string_view key) {
    for (std::size_t i = 0; i < given_.size(); ++i)
        if (given_[i].first == key) {
            used_[i] = true;
            return given_[i].second;
        }
    return std::nullopt;
}

void ModelOptions::bad_value(std::string_view key, std::string_view value,
                             std::string_view expected) const {
    throw ModelError("bad value '" + std::string(value) + "' for option '" + std::string(key) +
                     "' of model " + model_ + " (expected " + std::string(expected) + ")");
}

bool ModelOptions::on_off(std::string_view key, bool fallback) {
    const std::optional<std::string> value = take(key);
    if (!value)
        return fallback;
    if (*value == "on")
        return true;
    if (*value == "off")
        return false;
    bad_value(key, *value, "on or off");
}

std::uint64_t ModelOptions::number(std::string_view key, std::uint64_t fallback, std::uint64_t min,
                                   std::uint64_t max, bool power_of_two,
                                   std::string_view expected) {
    const std::optional<std::string> value = take(key);
    if (!value)
        return fallback;
    std::uint64_t number = 0;
    const char* first = value->data();
    const char* last = first + value->size();
    const auto [end, error] = std::from_chars(first, last, number);
    if (value->empty() || error != std::errc() || end != last || number < min || number > max ||
        (power_of_two && !std::has_single_bit(number)))
        bad_value(key, *value, expected);
    return number;
}

std::string ModelOptions::choice(std::string_view key, std::string_view fallback,
                                 std::initializer_list<std::string_view> allowed) {
    const std::optional<std::string> value = take(key);
    if (!value)
        return std::string(fallback);
    std::string expected;
    for (std::string_view candidate : allowed) {
        if (*value == candidate)
            return *value;
        expected += expected.empty() ? "" : ", ";
        expected += candidate;
    }
    bad_value(key, *value, "one of " + expected);
}

void ModelOptions::finish() const {
    for (std::size_t i = 0; i < given_.size(); ++i)
        if (!used_[i])
            throw ModelError("unknown option '" + given_[i].first + "' for model " + model_ +
                             " (options: " + (accepted_.empty() ? "none" : accepted_) + ")");
}

} // namespace tlsheap::replay
