// Reads the key=value options of one --transform argument and turns every
// mistake into a one-line TransformError that names the transform and the
// option (the wording of the models' ModelOptions).
#pragma once

#include "tlsheap/transform.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlsheap::replay {

class TransformOptions {
  public:
    // `accepted` is the option list as transform_catalog() shows it.
    TransformOptions(std::string transform, std::string accepted,
                     const std::vector<std::pair<std::string, std::string>>& given);

    // Each returns the default when the option is absent.
    bool on_off(std::string_view key, bool fallback);
    std::uint64_t number(std::string_view key, std::uint64_t fallback, std::uint64_t min,
                         std::uint64_t max);

    // Throws for any option no getter asked for.
    void finish() const;

  private:
    std::optional<std::string> take(std::string_view key);
    [[noreturn]] void bad_value(std::string_view key, std::string_view value,
                                std::string_view expected) const;

    std::string transform_;
    std::string accepted_;
    std::vector<std::pair<std::string, std::string>> given_;
    std::vector<bool> used_;
};

} // namespace tlsheap::replay
