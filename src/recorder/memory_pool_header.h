// The size of memory_buffer_alloc.c's block header, which PoolStats records
// so that replay can check the model's header against the library's.
#pragma once

#include "mbedtls_compat.h"

#include <cstdint>

namespace tlsheap::recorder {

#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
// memory_header: 7 words and magic2, 2 more words with backtraces.
#if defined(MBEDTLS_MEMORY_BACKTRACE)
inline constexpr std::uint64_t kPoolHeaderSize = 10 * sizeof(void*);
#else
inline constexpr std::uint64_t kPoolHeaderSize = 8 * sizeof(void*);
#endif
#endif

} // namespace tlsheap::recorder
