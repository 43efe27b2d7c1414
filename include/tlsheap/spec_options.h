// Reads the key=value options of one --model or --transform argument and
// turns every mistake into a one-line error (ModelError or TransformError)
// that names the model or transform and the option.
#pragma once

#include "tlsheap/number_text.h"

#include <bit>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlsheap::replay {

template <typename Error>
class SpecOptions {
  public:
    // `kind` is "model" or "transform"; `accepted` the option list as the
    // catalog shows it.
    SpecOptions(std::string kind, std::string name, std::string accepted,
                const std::vector<std::pair<std::string, std::string>>& given)
        : kind_(std::move(kind)), name_(std::move(name)), accepted_(std::move(accepted)),
          given_(given), used_(given.size(), false) {
        for (std::size_t i = 0; i < given_.size(); ++i)
            for (std::size_t j = 0; j < i; ++j)
                if (given_[i].first == given_[j].first)
                    throw Error("option '" + given_[i].first + "' given twice for " + kind_ + " " +
                                name_);
    }

    // Each returns the default when the option is absent.
    bool on_off(std::string_view key, bool fallback) {
        const std::optional<std::string> value = take(key);
        if (!value)
            return fallback;
        if (*value == "on")
            return true;
        if (*value == "off")
            return false;
        bad_value(key, *value, "on or off");
    }

    std::uint64_t number(std::string_view key, std::uint64_t fallback, std::uint64_t min,
                         std::uint64_t max, bool power_of_two, std::string_view expected) {
        const std::optional<std::string> value = take(key);
        if (!value)
            return fallback;
        const std::optional<std::uint64_t> number = whole_number(*value);
        if (!number || *number < min || *number > max ||
            (power_of_two && !std::has_single_bit(*number)))
            bad_value(key, *value, expected);
        return *number;
    }

    // A size in bytes from min to max.
    std::uint64_t bytes(std::string_view key, std::uint64_t fallback, std::uint64_t min,
                        std::uint64_t max) {
        return number(key, fallback, min, max, false,
                      "a number of bytes from " + std::to_string(min) + " to " +
                          std::to_string(max));
    }

    std::string choice(std::string_view key, std::string_view fallback,
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

    // Throws for any option no getter asked for.
    void finish() const {
        for (std::size_t i = 0; i < given_.size(); ++i)
            if (!used_[i])
                throw Error("unknown option '" + given_[i].first + "' for " + kind_ + " " + name_ +
                            " (options: " + (accepted_.empty() ? "none" : accepted_) + ")");
    }

    [[noreturn]] void bad_value(std::string_view key, std::string_view value,
                                std::string_view expected) const {
        throw Error("bad value '" + std::string(value) + "' for option '" + std::string(key) +
                    "' of " + kind_ + " " + name_ + " (expected " + std::string(expected) + ")");
    }

  private:
    std::optional<std::string> take(std::string_view key) {
        for (std::size_t i = 0; i < given_.size(); ++i)
            if (given_[i].first == key) {
                used_[i] = true;
                return given_[i].second;
            }
        return std::nullopt;
    }

    std::string kind_;
    std::string name_;
    std::string accepted_;
    std::vector<std::pair<std::string, std::string>> given_;
    std::vector<bool> used_;
};

} // namespace tlsheap::replay
