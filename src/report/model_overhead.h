// What an allocator model costs over the live peak, as every report states it.
#pragma once

#include <cstdint>

namespace tlsheap::report {

// Footprint beyond the live peak, in bytes (0 when the model beats it).
inline std::uint64_t overhead(std::uint64_t footprint, std::uint64_t live) {
    return footprint >= live ? footprint - live : 0;
}

// Footprint / live peak - 1 (Johnstone & Wilson, metric #4).
inline double fragmentation(std::uint64_t footprint, std::uint64_t live) {
    return live == 0 ? 0.0 : static_cast<double>(footprint) / static_cast<double>(live) - 1.0;
}

} // namespace tlsheap::report
