// Records the allocations of mbedTLS loaded as shared libraries, preloaded
// (LD_PRELOAD) into the program by `tlsheap record`. Built where mbedTLS's
// platform layer calls the C library directly (MBEDTLS_PLATFORM_MEMORY off,
// as in Debian's libmbedtls): mbedtls_calloc and mbedtls_free are then calls
// from the libraries' code to calloc and free through the PLT, which this
// shim defines before the C library does. A calloc is recorded when the code
// that called it lies in one of the libraries; a free when it releases a
// block recorded so (whoever frees it), or is free(NULL) from the libraries.
// Everything else goes straight to the C library.
#include "preload_allocation_shim.h"

#include "mbedtls_compat.h"
#include "recording.h"
#include "stack_capture.h"
#include "tlsheap/trace_format.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <link.h>
#include <mutex>
#include <string>

extern "C" {
// glibc's own allocator, under the names it exports for allocators that
// wrap it: no dlsym (which may itself allocate) before the first calloc.
void* __libc_calloc(std::size_t count, std::size_t size);
void __libc_free(void* pointer);
}

namespace {

using tlsheap::recorder::Recording;

// Executable segments of the mbedTLS libraries: each library has one.
constexpr unsigned kMaxRanges = 8;
struct CodeRange {
    std::uintptr_t start;
    std::uintptr_t end;
};
CodeRange g_ranges[kMaxRanges];
std::atomic<unsigned> g_range_count{0};

// The shim's own allocations (the stack table, the trace writer's buffer,
// the unwinder's first load) pass straight through.
__attribute__((tls_model("initial-exec"))) thread_local bool t_inside = false;

// Recording is single-threaded; a program may free from any thread.
std::mutex g_lock;

constexpr unsigned kShimFrames = 2; // capture_stack's frame and the hook's
constexpr unsigned kFreeStackDepth = 6;

bool from_mbedtls(const void* return_address) {
    const auto pc = reinterpret_cast<std::uintptr_t>(return_address);
    const unsigned n = g_range_count.load(std::memory_order_acquire);
    for (unsigned i = 0; i < n; ++i) {
        if (pc >= g_ranges[i].start && pc < g_ranges[i].end) {
            return true;
        }
    }
    return false;
}

bool is_mbedtls_library(const char* path) {
    const char* slash = std::strrchr(path, '/');
    return tlsheap::trace::is_mbedtls_shared_library(slash != nullptr ? slash + 1 : path);
}

int add_library_code(dl_phdr_info* info, std::size_t, void*) {
    if (info->dlpi_name == nullptr || !is_mbedtls_library(info->dlpi_name)) {
        return 0;
    }
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        const unsigned n = g_range_count.load(std::memory_order_relaxed);
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) != 0 && n < kMaxRanges) {
            const std::uintptr_t start = info->dlpi_addr + ph.p_vaddr;
            g_ranges[n] = {start, start + ph.p_memsz};
            g_range_count.store(n + 1, std::memory_order_release);
        }
    }
    return 0;
}

class Inside {
  public:
    Inside() { t_inside = true; }
    ~Inside() { t_inside = false; }
    Inside(const Inside&) = delete;
    Inside& operator=(const Inside&) = delete;
};

} // namespace

const char* tlsheap::recorder::shared_mbedtls_version() {
    // mbedtls_version_get_string is in every library built with
    // MBEDTLS_VERSION_C (mbedTLS's default, Debian's too).
    using GetString = void (*)(char*);
    static char version[18];
    const auto get = reinterpret_cast<GetString>(dlsym(RTLD_DEFAULT, "mbedtls_version_get_string"));
    if (get == nullptr) {
        std::fprintf(stderr, "tlsheap: the program has no mbedtls_version_get_string "
                             "(MBEDTLS_VERSION_C): its mbedTLS version is unknown, nothing "
                             "recorded\n");
        return nullptr;
    }
    get(version);
    if (std::strcmp(version, MBEDTLS_VERSION_STRING) != 0) {
        std::fprintf(stderr,
                     "tlsheap: the program loads mbedTLS %s, the preload shim was built for %s "
                     "(tlsheap record --mbedtls names the tree); nothing recorded\n",
                     version, MBEDTLS_VERSION_STRING);
        return nullptr;
    }
    return version;
}

extern "C" void* calloc(std::size_t count, std::size_t size) {
    void* result = __libc_calloc(count, size);
    if (t_inside || !from_mbedtls(__builtin_return_address(0))) {
        return result;
    }
    const Inside inside;
    const std::lock_guard<std::mutex> lock(g_lock);
    Recording& recording = Recording::instance();
    if (recording.active()) {
        std::uintptr_t frames[tlsheap::trace::kMaxStackDepth];
        const unsigned depth =
            tlsheap::recorder::capture_stack(frames, tlsheap::trace::kMaxStackDepth, kShimFrames);
        recording.on_alloc(count, size, result, frames, depth);
    }
    return result;
}

extern "C" void free(void* pointer) {
    if (t_inside || g_range_count.load(std::memory_order_relaxed) == 0 ||
        (pointer == nullptr && !from_mbedtls(__builtin_return_address(0)))) {
        __libc_free(pointer);
        return;
    }
    {
        const Inside inside;
        const std::lock_guard<std::mutex> lock(g_lock);
        Recording& recording = Recording::instance();
        // Before the C library has it back: another thread may get the
        // same address from its next allocation.
        if (recording.active() && (pointer == nullptr || recording.seq_of(pointer) != 0)) {
            std::uintptr_t frames[tlsheap::trace::kMaxStackDepth];
            const unsigned depth =
                pointer != nullptr
                    ? tlsheap::recorder::capture_stack(frames, kFreeStackDepth, kShimFrames)
                    : 0;
            recording.on_free(pointer, frames, depth);
        }
    }
    __libc_free(pointer);
}

// This file's calloc itself: `calloc` in a shared object means the first
// definition the dynamic linker finds, which may be another library's.
extern "C" void* shim_calloc(std::size_t count, std::size_t size)
    __attribute__((alias("calloc"), visibility("hidden"), copy(calloc)));

bool tlsheap::recorder::watch_shared_mbedtls() {
    // An allocator the program defines itself, or one preloaded before the
    // shim, is the one the libraries call: nothing reaches the shim's calloc.
    const void* found = dlsym(RTLD_DEFAULT, "calloc");
    Dl_info owner{};
    if (found != reinterpret_cast<void*>(&shim_calloc)) {
        std::fprintf(stderr,
                     "tlsheap: calloc is %s's, found before tlsheap's shim (the program's own "
                     "allocator, or one preloaded already), which then sees no allocation: "
                     "nothing recorded\n",
                     dladdr(found, &owner) != 0 && owner.dli_fname != nullptr ? owner.dli_fname
                                                                              : "another library");
        return false;
    }
    dl_iterate_phdr(add_library_code, nullptr);
    if (g_range_count.load() == 0) {
        std::fprintf(stderr, "tlsheap: the program loads no libmbedtls, libmbedx509 or "
                             "libmbedcrypto shared library: nothing recorded\n");
        return false;
    }
    return true;
}

void tlsheap::recorder::forget_preload() {
    Dl_info self{};
    const char* preload = std::getenv("LD_PRELOAD");
    if (preload == nullptr || dladdr(reinterpret_cast<void*>(&shim_calloc), &self) == 0 ||
        self.dli_fname == nullptr) {
        return;
    }
    // LD_PRELOAD separates its entries with colons or spaces.
    std::string kept;
    std::string entry;
    for (const char* p = preload;; ++p) {
        if (*p == ':' || *p == ' ' || *p == '\0') {
            if (!entry.empty() && entry != self.dli_fname) {
                kept += (kept.empty() ? "" : ":") + entry;
            }
            entry.clear();
            if (*p == '\0') {
                break;
            }
        } else {
            entry += *p;
        }
    }
    if (kept.empty()) {
        unsetenv("LD_PRELOAD");
    } else {
        setenv("LD_PRELOAD", kept.c_str(), 1);
    }
}
