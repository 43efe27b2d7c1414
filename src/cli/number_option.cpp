#include "cli/number_option.h"

#include "tlsheap/number_text.h"
#include "tlsheap/user_error.h"

#include <fmt/format.h>
#include <limits>

namespace tlsheap::cli {

namespace {

constexpr std::uint64_t kMostJobs = 1024;
constexpr std::uint64_t kMostTop = 1'000'000;
constexpr double kShortestStepSeconds = 0.001;
constexpr double kLongestStepSeconds = 3600;

// CLI11 would report a failed check as "NAME: MESSAGE (see --help)"; the
// check throws the project's one-line UserError instead, which CLI11 lets
// through (it catches only its own ValidationError) and main() prints.
CLI::Option*
check_with(CLI::Option* option, std::string description,
           std::function<void(const std::string& name, const std::string& text)> check) {
    const std::string name = option->get_name();
    option->check(CLI::Validator(
        [name, check](std::string& text) {
            check(name, text);
            return std::string();
        },
        std::move(description)));
    return option;
}

} // namespace

void throw_out_of_range(const std::string& name, const std::string& min, const std::string& max,
                        const std::string& unit, const std::string& text) {
    const std::string range =
        max.empty() ? "at least " + min : fmt::format("between {} and {}", min, max);
    // A number stands bare, anything else in quotes so that '' and ' 1' show.
    const bool number = decimal_number(text).has_value();
    throw UserError(fmt::format("{} must be {}{}{}, not {}", name, range, unit.empty() ? "" : " ",
                                unit, number ? text : "'" + text + "'"),
                    kExitBadInput);
}

CLI::Option* whole_number_option(CLI::Option* option, std::uint64_t min, std::uint64_t max,
                                 const std::string& unit) {
    const bool unbounded = max == std::numeric_limits<std::uint64_t>::max();
    return check_with(
        option, unbounded ? fmt::format("{}..", min) : fmt::format("{}..{}", min, max),
        [min, max, unit, unbounded](const std::string& name, const std::string& text) {
            const auto value = whole_number(text);
            if (!value || *value < min || *value > max) {
                // No bound but the type's: not worth 20 digits.
                throw_out_of_range(name, std::to_string(min), unbounded ? "" : std::to_string(max),
                                   unit, text);
            }
        });
}

CLI::Option* seconds_option(CLI::Option* option, double min, double max) {
    return check_with(option, fmt::format("{}..{}", min, max),
                      [min, max](const std::string& name, const std::string& text) {
                          const auto value = decimal_number(text);
                          if (!value || *value < min || *value > max) {
                              throw_out_of_range(name, fmt::format("{}", min),
                                                 fmt::format("{}", max), "seconds", text);
                          }
                      });
}

CLI::Option* step_timeout_option(CLI::Option* option) {
    return seconds_option(option, kShortestStepSeconds, kLongestStepSeconds);
}

CLI::Option* jobs_option(CLI::Option* option) {
    return whole_number_option(option, 1, kMostJobs);
}

CLI::Option* port_option(CLI::Option* option) {
    return whole_number_option(option, 1, 65535);
}

CLI::Option* top_option(CLI::Option* option) {
    return whole_number_option(option, 0, kMostTop);
}

} // namespace tlsheap::cli
