#include "cli/heap_option.h"

#include "tlsheap/user_error.h"

#include <charconv>
#include <fmt/format.h>

namespace tlsheap::cli {

std::optional<std::uint64_t> parse_heap_size(const std::string& text, const std::string& option) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::uint64_t bytes = 0;
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, bytes);
    const bool whole_number = error != std::errc::invalid_argument && stop == end &&
                              text.find_first_not_of("0123456789") == std::string::npos;
    if (!whole_number) {
        throw UserError(fmt::format("{} must be a number of bytes, not '{}'", option, text),
                        kExitBadInput);
    }
    if (error == std::errc::result_out_of_range || bytes == 0 || bytes > kLargestHeap) {
        throw UserError(
            fmt::format("{} must be between 1 and {} bytes, not {}", option, kLargestHeap, text),
            kExitBadInput);
    }
    return bytes;
}

} // namespace tlsheap::cli
