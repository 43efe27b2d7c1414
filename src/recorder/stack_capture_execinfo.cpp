// C library backend (glibc's backtrace, which unwinds with libgcc's DWARF
// unwinder) for ABIs without libunwind, such as 32-bit ARM.
#include "stack_capture.h"
#include "tlsheap/trace_format.h"

#include <execinfo.h>

namespace tlsheap::recorder {

unsigned capture_stack(std::uintptr_t* frames, unsigned max, unsigned skip) {
    void* raw[trace::kMaxStackDepth + 8];
    unsigned want = max + skip;
    if (want > sizeof(raw) / sizeof(raw[0])) {
        want = sizeof(raw) / sizeof(raw[0]);
    }
    const int got = backtrace(raw, static_cast<int>(want));
    unsigned n = 0;
    for (int i = static_cast<int>(skip); i < got && n < max; ++i) {
        frames[n++] = reinterpret_cast<std::uintptr_t>(raw[i]);
    }
    return n;
}

void stack_capture_init(const void*) {
    // glibc loads libgcc's unwinder on the first backtrace(); do it now,
    // not inside the first recorded allocation.
    void* frame[1];
    backtrace(frame, 1);
}

const char* stack_capture_backend() {
    return "execinfo";
}

} // namespace tlsheap::recorder
