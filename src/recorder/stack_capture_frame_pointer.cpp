// Frame-pointer backend (x86-64, i386): the variant's library and recorder are
// compiled with -fno-omit-frame-pointer, so every frame between an allocation
// and main is linked through the frame pointer: [fp] holds the caller's fp,
// [fp + one word] the return address. Walking that chain costs a few
// nanoseconds per frame where a DWARF unwinder costs ~100 ns per stack; the
// recording-overhead benchmark measures the difference, and a test checks
// that both give the same stacks.
#include "stack_capture.h"

#include <pthread.h>

namespace tlsheap::recorder {

namespace {
std::uintptr_t g_main_frame = 0;
std::uintptr_t g_stack_low = 0;
std::uintptr_t g_stack_high = 0;
} // namespace

void stack_capture_init(const void* main_frame) {
    g_main_frame = reinterpret_cast<std::uintptr_t>(main_frame);
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void* base = nullptr;
        size_t size = 0;
        if (pthread_attr_getstack(&attr, &base, &size) == 0) {
            g_stack_low = reinterpret_cast<std::uintptr_t>(base);
            g_stack_high = g_stack_low + size;
        }
        pthread_attr_destroy(&attr);
    }
}

__attribute__((noinline)) unsigned capture_stack(std::uintptr_t* frames, unsigned max,
                                                 unsigned skip) {
    auto* fp = static_cast<std::uintptr_t*>(__builtin_frame_address(0));
    // This frame's return address is the wrapper's, the second entry of a
    // DWARF unwinder's list (whose first is inside capture_stack itself).
    unsigned to_drop = skip > 0 ? skip - 1 : 0;
    unsigned n = 0;
    // In locals: `frames` has their type, so every store to it would make the
    // compiler load the globals again.
    const std::uintptr_t stack_low = g_stack_low;
    const std::uintptr_t stack_high = g_stack_high;
    const std::uintptr_t main_frame = g_main_frame;
    while (fp != nullptr && n < max) {
        const auto here = reinterpret_cast<std::uintptr_t>(fp);
        if (here < stack_low || here + 2 * sizeof(std::uintptr_t) > stack_high ||
            here % sizeof(std::uintptr_t) != 0) {
            break; // not a frame of this thread's stack
        }
        const std::uintptr_t ret = fp[1];
        if (ret == 0) {
            break;
        }
        if (to_drop > 0) {
            --to_drop;
        } else {
            frames[n++] = ret;
        }
        if (here == main_frame) {
            break; // main's return address was the last one of interest
        }
        auto* next = reinterpret_cast<std::uintptr_t*>(fp[0]);
        if (reinterpret_cast<std::uintptr_t>(next) <= here) {
            break; // frames only grow towards main
        }
        fp = next;
    }
    return n;
}

const char* stack_capture_backend() {
    return "frame-pointer";
}

} // namespace tlsheap::recorder
