// --heap BYTES, the device heap of fixed size a replay runs on (`profile`,
// `replay`; `replay --pool` is the same option by its older name).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tlsheap::cli {

// The largest heap accepted: 1 TiB, far above any device, far below where
// model arithmetic could overflow.
inline constexpr std::uint64_t kLargestHeap = std::uint64_t{1} << 40;

// "" (not given): nullopt. Otherwise a whole number of bytes from 1 to
// kLargestHeap; anything else throws UserError (kExitBadInput) naming `option`.
std::optional<std::uint64_t> parse_heap_size(const std::string& text, const std::string& option);

} // namespace tlsheap::cli
