// Reads the key=value options of one --model argument and turns every mistake
// into a one-line ModelError that names the model and the option.
#pragma once

#include "tlsheap/allocator_model.h"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlsheap::replay {

class ModelOptions {
  public:
    // `accepted` is the option list as model_catalog() shows it.
    ModelOptions(std::string model, std::string accepted,
                 const std::vector<std::pair<std::string, std::string>>& given);

    // Each returns the default when the option is absent.
    bool on_off(std::string_view key, bool fallback);
    std::uint64_t number(std::string_view key, std::uint64_t fallback, std::uint64_t min,
                         std::uint64_t max, bool power_of_two, std::string_view expected);
    std::string choice(std::string_view key, std::string_view fallback,
                       std::initializer_list<std::string_view> allowed);

    // Throws for any option no getter asked for.
    void finish() const;

    [[noreturn]] void bad_value(std::string_view key, std::string_view value,
                                std::string_view expected) const;

  private:
    std::optional<std::string> take(std::string_view key);

    std::string model_;
    std::string accepted_;
    std::vector<std::pair<std::string, std::string>> given_;
    std::vector<bool> used_;
};

} // namespace tlsheap::replay
