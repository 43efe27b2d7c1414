// The heap mbedTLS allocates from for the whole run: the host's calloc/free,
// or (--pool-size) mbedTLS's own memory_buffer_alloc over one pool, whose
// statistics are recorded when it is released. Process-wide: every
// connection and what they share come out of it.
#pragma once

#include "connection_result.h"
#include "mbedtls_compat.h"
#include "recorder_options.h"

#include <cstdint>
#include <vector>

namespace tlsheap::recorder {

class LibraryHeap {
  public:
    LibraryHeap() = default;
    ~LibraryHeap() { release(); }
    LibraryHeap(const LibraryHeap&) = delete;
    LibraryHeap& operator=(const LibraryHeap&) = delete;

    // Points mbedTLS's platform layer at the heap `options` ask for; first
    // thing in SETUP. On failure fills `result` and returns false.
    bool init(const RecorderOptions& options, ConnectionResult& result);
    // Records the pool's statistics and hands the pool back; last thing in
    // TEARDOWN, once everything allocated from it is freed. Safe to call twice.
    void release();

  private:
#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
    std::uint64_t pool_size_ = 0;
    std::vector<unsigned char> pool_;
    unsigned char* pool_base_ = nullptr;
#endif
};

} // namespace tlsheap::recorder
