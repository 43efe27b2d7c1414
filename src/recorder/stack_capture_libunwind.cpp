// libunwind backend: unw_backtrace walks with cached unwind tables, the
// fastest DWARF-correct unwinder available where the ABI has libunwind.
#define UNW_LOCAL_ONLY
#include "stack_capture.h"
#include "tlsheap/trace_format.h"

#include <libunwind.h>

namespace tlsheap::recorder {

unsigned capture_stack(std::uintptr_t* frames, unsigned max, unsigned skip) {
    void* raw[trace::kMaxStackDepth + 8];
    unsigned want = max + skip;
    if (want > sizeof(raw) / sizeof(raw[0])) {
        want = sizeof(raw) / sizeof(raw[0]);
    }
    const int got = unw_backtrace(raw, static_cast<int>(want));
    unsigned n = 0;
    for (int i = static_cast<int>(skip); i < got && n < max; ++i) {
        frames[n++] = reinterpret_cast<std::uintptr_t>(raw[i]);
    }
    return n;
}

void stack_capture_init(const void*) {
    // One thread records; a per-thread cache of unwind info avoids the
    // global cache's locking on every capture.
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

const char* stack_capture_backend() {
    return "libunwind";
}

} // namespace tlsheap::recorder
