#include "tlsheap/huge_page_allocator.h"

#include <cstdint>
#include <sys/mman.h>

namespace tlsheap::replay::huge_pages {

namespace {

// x86-64's and arm64's (4 KiB granule) transparent huge page.
constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::size_t round_up(std::size_t bytes) {
    return (bytes + kHugePage - 1) & ~(kHugePage - 1);
}

} // namespace

void* map(std::size_t bytes) {
    const std::size_t length = round_up(bytes);
    if (length < bytes || length + kHugePage < length) {
        throw std::bad_alloc();
    }
    // One huge page more than asked, then the ends trimmed, so that the
    // memory starts on a huge page boundary (the kernel backs only whole,
    // aligned huge pages).
    void* raw = ::mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        throw std::bad_alloc();
    }
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + kHugePage - 1) & ~std::uintptr_t{kHugePage - 1};
    if (aligned > start) {
        ::munmap(raw, aligned - start);
    }
    const std::uintptr_t end = start + length + kHugePage;
    if (end > aligned + length) {
        ::munmap(reinterpret_cast<void*>(aligned + length), end - (aligned + length));
    }
    // Advice: a kernel without THP says EINVAL, and the pages stay small.
    ::madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
    return reinterpret_cast<void*>(aligned);
}

void unmap(void* p, std::size_t bytes) noexcept {
    ::munmap(p, round_up(bytes));
}

} // namespace tlsheap::replay::huge_pages
