#include "painted_stack.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

namespace tlsheap::recorder {

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kCanPaint = false;
#else
constexpr bool kCanPaint = true;
#endif

// An odd word no pointer, length or small integer looks like.
constexpr std::uintptr_t kPaint = static_cast<std::uintptr_t>(0xA5C3'5A3C'A5C3'5A3Cull);
// What a painting or measuring function may use below its own frame address:
// its locals and x86-64's 128-byte red zone. Never painted, never measured.
constexpr std::uintptr_t kOwnFrame = 256;

struct Painted {
    bool active = false;
    std::size_t size = 0;
    std::uintptr_t guard = 0;  // the guard page's first byte
    std::uintptr_t low = 0;    // the lowest painted word, just above the guard page
    std::uintptr_t top = 0;    // depth 0: the frame that called the body
    std::uintptr_t lowest = 0; // the lowest word the interval touched, as far as measured
    std::uintptr_t base = 0;   // the depth at which the interval began
};
Painted g;

std::uintptr_t align_down(std::uintptr_t a) {
    return a & ~(sizeof(std::uintptr_t) - 1);
}

// The first word in [from, to) that lost the pattern; `to` if none did.
__attribute__((always_inline)) inline std::uintptr_t lowest_touched(std::uintptr_t from,
                                                                    std::uintptr_t to) {
    const auto* p = reinterpret_cast<const std::uintptr_t*>(from);
    const auto* end = reinterpret_cast<const std::uintptr_t*>(to);
    while (p < end && *p == kPaint) {
        ++p;
    }
    return reinterpret_cast<std::uintptr_t>(p);
}

__attribute__((always_inline)) inline void paint(std::uintptr_t from, std::uintptr_t to) {
    for (auto* p = reinterpret_cast<std::uintptr_t*>(from);
         p < reinterpret_cast<std::uintptr_t*>(to); ++p) {
        *p = kPaint;
    }
}

// The lowest word this function may paint: below its own frame.
__attribute__((always_inline)) inline std::uintptr_t paintable_below(const void* own_frame) {
    return align_down(reinterpret_cast<std::uintptr_t>(own_frame) - kOwnFrame);
}

// Repaints what was used below `own_frame` (the caller's frame address) and
// returns the lowest word the caller may not paint.
__attribute__((always_inline)) inline std::uintptr_t repaint_below(const void* own_frame) {
    const std::uintptr_t limit = paintable_below(own_frame);
    paint(lowest_touched(g.low, limit), limit);
    return limit;
}

// Folds what was used since the last measurement into the interval.
__attribute__((noinline)) void fold() {
    g.lowest = lowest_touched(g.low, g.lowest);
}

struct Launch {
    int (*body)(void*) = nullptr;
    void* arg = nullptr;
    int result = 0;
    sigset_t mask;
};

__attribute__((noinline)) int run_painted(Launch* launch) {
    const void* here = __builtin_frame_address(0);
    g.top = reinterpret_cast<std::uintptr_t>(here);
    g.lowest = paintable_below(here);
    paint(g.low, g.lowest);
    g.base = 0;
    g.active = true;
    const int result = launch->body(launch->arg);
    g.active = false;
    return result;
}

// Where a fatal signal's handler runs when the painted stack is exhausted.
alignas(16) unsigned char g_signal_stack[64 * 1024];

extern "C" void* painted_thread(void* p) {
    auto* launch = static_cast<Launch*>(p);
    stack_t alternate{};
    alternate.ss_sp = g_signal_stack;
    alternate.ss_size = sizeof g_signal_stack;
    sigaltstack(&alternate, nullptr);
    pthread_sigmask(SIG_SETMASK, &launch->mask, nullptr);
    launch->result = run_painted(launch);
    return nullptr;
}

} // namespace

bool run_on_painted_stack(std::size_t bytes, int (*body)(void*), void* arg, int& result,
                          const char*& error) {
    if (!kCanPaint) {
        result = body(arg);
        return true;
    }
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t size = (bytes + page - 1) / page * page;
    void* mapping = mmap(nullptr, size + page, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) {
        error = "cannot map the painted stack";
        return false;
    }
    if (mprotect(mapping, page, PROT_NONE) != 0) {
        munmap(mapping, size + page);
        error = "cannot protect the painted stack's guard page";
        return false;
    }
    g.size = size;
    g.guard = reinterpret_cast<std::uintptr_t>(mapping);
    g.low = g.guard + page;

    Launch launch;
    launch.body = body;
    launch.arg = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &launch.mask);
    pthread_attr_t attr;
    pthread_t thread;
    bool started = pthread_attr_init(&attr) == 0;
    started = started && pthread_attr_setstack(&attr, reinterpret_cast<void*>(g.low), size) == 0;
    started = started && pthread_create(&thread, &attr, painted_thread, &launch) == 0;
    pthread_attr_destroy(&attr);
    if (started) {
        pthread_join(thread, nullptr);
    }
    pthread_sigmask(SIG_SETMASK, &launch.mask, nullptr);
    munmap(mapping, size + page);
    g = Painted{};
    if (!started) {
        error = "cannot start the painted-stack thread";
        return false;
    }
    result = launch.result;
    return true;
}

bool painted_stack_supported() {
    return kCanPaint;
}

bool painted_stack_active() {
    return g.active;
}

std::size_t painted_stack_size() {
    return g.active ? g.size : 0;
}

bool painted_stack_overflowed(const void* address) {
    const auto a = reinterpret_cast<std::uintptr_t>(address);
    return g.guard != 0 && a >= g.guard && a < g.low;
}

__attribute__((noinline)) StackInterval measure_stack_interval() {
    if (!g.active) {
        return {};
    }
    fold();
    return {g.top - g.lowest, g.base};
}

__attribute__((noinline)) void restart_stack_interval(const void* frame) {
    if (!g.active) {
        return;
    }
    // The interval was measured; since then the recorder wrote its records.
    g.lowest = repaint_below(__builtin_frame_address(0));
    g.base = g.top - reinterpret_cast<std::uintptr_t>(frame);
}

StackExcursion::StackExcursion() : active_(g.active) {
    if (active_) {
        fold();
    }
}

// Repaints what the recorder's own work used below the hook, which the
// interval's figure (already folded) must not see.
__attribute__((noinline)) StackExcursion::~StackExcursion() {
    if (!active_) {
        return;
    }
    repaint_below(__builtin_frame_address(0));
}

} // namespace tlsheap::recorder
