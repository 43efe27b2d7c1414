#include "library_heap.h"

#include "activity_scope.h"
#include "memory_pool_header.h"
#include "recording.h"
#include "tlsheap/trace_meta.h"

#include <cstdlib>
#include <mbedtls/platform.h>
#include <mbedtls/ssl.h>
#include <string>

#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
#include <mbedtls/memory_buffer_alloc.h>
#endif

namespace tlsheap::recorder {

bool LibraryHeap::init(const RecorderOptions& options, ConnectionResult& result) {
#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
    if (options.pool_size > 0) {
        Recording& r = Recording::instance();
        ActivityScope a(r, "memory_buffer_alloc_init");
        pool_size_ = options.pool_size;
        pool_.assign(pool_size_ + 16, 0);
        // Start the pool on a 16-byte boundary, as a static array would be.
        auto base = reinterpret_cast<std::uintptr_t>(pool_.data());
        pool_base_ = reinterpret_cast<unsigned char*>((base + 15) & ~std::uintptr_t{15});
        mbedtls_memory_buffer_alloc_init(pool_base_, pool_size_);
        // Replay compares the model's offsets with real addresses minus this.
        r.meta(trace::meta::kPoolBase,
               std::to_string(reinterpret_cast<std::uintptr_t>(pool_base_)));
    }
#else
    if (options.pool_size > 0) {
        // No connection exists yet: the state is the one a fresh context starts in.
        return report_usage(result, MBEDTLS_SSL_HELLO_REQUEST,
                            "--pool-size needs a variant built with MBEDTLS_MEMORY_BUFFER_ALLOC_C");
    }
#endif
    (void)result;
    if (options.pool_size == 0) {
        // The host heap, whatever MBEDTLS_PLATFORM_STD_CALLOC said (configs
        // with MBEDTLS_PLATFORM_NO_STD_FUNCTIONS leave it unset).
        mbedtls_platform_set_calloc_free(std::calloc, std::free);
    }
    return true;
}

void LibraryHeap::release() {
#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
    if (pool_base_ == nullptr) {
        return;
    }
    size_t max_used = 0, max_blocks = 0, cur_used = 0, cur_blocks = 0;
#if defined(MBEDTLS_MEMORY_DEBUG)
    mbedtls_memory_buffer_alloc_max_get(&max_used, &max_blocks);
    mbedtls_memory_buffer_alloc_cur_get(&cur_used, &cur_blocks);
#endif
    Recording::instance().pool_stats(pool_size_, kPoolHeaderSize, max_used, max_blocks, cur_used,
                                     cur_blocks, reinterpret_cast<std::uintptr_t>(pool_base_));
    mbedtls_memory_buffer_alloc_free();
    pool_base_ = nullptr;
#endif
}

} // namespace tlsheap::recorder
