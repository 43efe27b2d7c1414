#include "crc32c.h"

#include "tlsheap/trace_format.h"

#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace tlsheap::trace {

namespace {

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t
crc32c_sse42(std::uint32_t crc, const unsigned char* p, std::size_t n) {
    std::uint64_t c = ~crc;
    while (n >= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        n -= 8;
    }
    auto c32 = static_cast<std::uint32_t>(c);
    while (n-- > 0) {
        c32 = _mm_crc32_u8(c32, *p++);
    }
    return ~c32;
}
#endif

} // namespace

std::uint32_t crc32c(std::uint32_t crc, const unsigned char* p, std::size_t n) {
#if defined(__x86_64__)
    static const bool hardware = __builtin_cpu_supports("sse4.2");
    if (hardware) {
        return crc32c_sse42(crc, p, n);
    }
#endif
    return kCrc32c.update(crc, p, n);
}

} // namespace tlsheap::trace
