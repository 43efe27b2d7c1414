// Interposes mbedtls_calloc/mbedtls_free. The variant is linked with
// -Wl,--wrap=mbedtls_calloc,--wrap=mbedtls_free, so every call the library
// makes lands here first and then goes on to whatever allocator the platform
// layer has (libc, or mbedTLS's own memory_buffer_alloc). The wrapper is the
// direct callee of the mbedTLS function that asked for memory, so the stack
// starts exactly at the call site.
#include "failure_injection.h"
#include "painted_stack.h"
#include "recording.h"
#include "stack_capture.h"

#include <cstddef>
#include <cstdint>

extern "C" {
void* __real_mbedtls_calloc(std::size_t count, std::size_t size);
void __real_mbedtls_free(void* pointer);
void* __wrap_mbedtls_calloc(std::size_t count, std::size_t size);
void __wrap_mbedtls_free(void* pointer);
}

namespace {
// capture_stack's own frame and this wrapper's frame.
constexpr unsigned kShimFrames = 2;
constexpr unsigned kFreeStackDepth = 6;

// The recorder's work for one call, in its own frame: the shim's frame stays
// small, and the painted stack's excursion (opened in the shim) leaves this
// one out of mbedTLS's stack.
__attribute__((noinline)) void record_alloc(tlsheap::recorder::Recording& recording,
                                            std::size_t count, std::size_t size,
                                            const void* result) {
    std::uintptr_t frames[tlsheap::trace::kMaxStackDepth];
    // This frame is one more to drop than kShimFrames counts.
    const unsigned depth = recording.capture_stacks()
                               ? tlsheap::recorder::capture_stack(
                                     frames, tlsheap::trace::kMaxStackDepth, kShimFrames + 1)
                               : 0;
    recording.on_alloc(count, size, result, frames, depth);
}

__attribute__((noinline)) void record_free(tlsheap::recorder::Recording& recording,
                                           const void* pointer) {
    std::uintptr_t frames[tlsheap::trace::kMaxStackDepth];
    // free(NULL) is frequent and changes nothing: recorded, without a
    // stack. Other frees keep a short stack: enough to name the caller of
    // a bad free, at a fraction of a full walk.
    const unsigned depth =
        (recording.capture_stacks() && pointer != nullptr)
            ? tlsheap::recorder::capture_stack(frames, kFreeStackDepth, kShimFrames + 1)
            : 0;
    recording.on_free(pointer, frames, depth);
}

} // namespace

void* __wrap_mbedtls_calloc(std::size_t count, std::size_t size) {
    auto& injection = tlsheap::recorder::FailureInjection::instance();
    void* result = nullptr;
    if (!injection.armed()) {
        result = __real_mbedtls_calloc(count, size);
    } else if (!injection.fail_this(count, size)) {
        result = __real_mbedtls_calloc(count, size);
        injection.allocated(result, count, size);
    }
    auto& recording = tlsheap::recorder::Recording::instance();
    if (recording.active()) {
        const tlsheap::recorder::StackExcursion excursion;
        record_alloc(recording, count, size, result);
    }
    return result;
}

void __wrap_mbedtls_free(void* pointer) {
    auto& recording = tlsheap::recorder::Recording::instance();
    if (recording.active()) {
        const tlsheap::recorder::StackExcursion excursion;
        record_free(recording, pointer);
    }
    auto& injection = tlsheap::recorder::FailureInjection::instance();
    if (injection.armed()) {
        injection.freed(pointer);
    }
    __real_mbedtls_free(pointer);
}
