// An allocator for long arrays that asks the kernel for transparent huge
// pages (madvise(MADV_HUGEPAGE), where THP is in "madvise" mode, as on this
// project's machines): the allocation stream of a 10-million-event trace
// without repeated connections touches about 120 MB, and with 4 KiB pages
// about a seventh of the recording walk went to page faults (perf of
// `tlsheap replay` on the replay benchmark's RECORDED trace, when its stream
// still kept every connection). Small arrays, and whatever the kernel
// declines, are plain memory; the advice changes no content, only how it is
// paged in.
#pragma once

#include <cstddef>
#include <limits>
#include <memory>
#include <new>

namespace tlsheap::replay {

namespace huge_pages {
// From this size on, memory is mapped on its own and advised; below, it
// comes from operator new.
inline constexpr std::size_t kFromBytes = std::size_t{4} << 20;
// Mapped memory of `bytes` (>= kFromBytes) on a huge page boundary; throws
// std::bad_alloc when none is to be had.
void* map(std::size_t bytes);
void unmap(void* p, std::size_t bytes) noexcept;
} // namespace huge_pages

template <typename T>
class HugePageAllocator {
  public:
    using value_type = T;

    HugePageAllocator() = default;
    template <typename U>
    HugePageAllocator(const HugePageAllocator<U>& /*other*/) noexcept {}

    T* allocate(std::size_t n) {
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) {
            throw std::bad_array_new_length();
        }
        const std::size_t bytes = n * sizeof(T);
        if (bytes < huge_pages::kFromBytes) {
            return std::allocator<T>().allocate(n);
        }
        return static_cast<T*>(huge_pages::map(bytes));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        const std::size_t bytes = n * sizeof(T);
        if (bytes < huge_pages::kFromBytes) {
            std::allocator<T>().deallocate(p, n);
        } else {
            huge_pages::unmap(p, bytes);
        }
    }

    template <typename U>
    bool operator==(const HugePageAllocator<U>& /*other*/) const noexcept {
        return true;
    }
};

} // namespace tlsheap::replay
