#pragma once

#include <cstddef>
#include <cstdint>

namespace tlsheap::trace {

// CRC-32C of a block, continuing from `crc`: the SSE4.2 instruction where the
// CPU has it, else the portable table (same results).
std::uint32_t crc32c(std::uint32_t crc, const unsigned char* p, std::size_t n);

} // namespace tlsheap::trace
