#include "cli/heap_option.h"

#include "cli/number_option.h"
#include "tlsheap/number_text.h"

namespace tlsheap::cli {

std::optional<std::uint64_t> parse_heap_size(const std::string& text, const std::string& option) {
    if (text.empty()) {
        return std::nullopt;
    }
    const std::optional<std::uint64_t> bytes = whole_number(text);
    if (!bytes || *bytes == 0 || *bytes > kLargestHeap) {
        throw_out_of_range(option, "1", std::to_string(kLargestHeap), "bytes", text);
    }
    return bytes;
}

} // namespace tlsheap::cli
