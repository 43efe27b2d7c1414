// The allocation stream's allocator: arrays that grow past the mapped size
// keep their contents, start on a huge page boundary once mapped, and small
// ones stay ordinary heap memory.
#include "tlsheap/huge_page_allocator.h"

#include <cstdint>
#include <gtest/gtest.h>
#include <vector>

namespace tlsheap::replay {
namespace {

using Words = std::vector<std::uint64_t, HugePageAllocator<std::uint64_t>>;

constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;

TEST(HugePageAllocator, GrowingPastTheMappedSizeKeepsEveryValue) {
    Words words;
    // 8 MiB of words: the array is copied from heap memory into mappings
    // (4 MiB on) and from one mapping into a larger one.
    const std::uint64_t count = (std::uint64_t{8} << 20) / sizeof(std::uint64_t);
    for (std::uint64_t i = 0; i < count; ++i) {
        words.push_back(i * 2654435761u);
    }
    ASSERT_EQ(words.size(), count);
    for (std::uint64_t i = 0; i < count; ++i) {
        ASSERT_EQ(words[i], i * 2654435761u) << i;
    }
    EXPECT_GE(words.capacity() * sizeof(std::uint64_t), huge_pages::kFromBytes);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(words.data()) % kHugePage, 0u);
}

TEST(HugePageAllocator, ReservedRoomIsMappedAlignedAndWritableToItsEnd) {
    Words words;
    // An odd size, so that the mapping's end is trimmed inside a huge page.
    const std::size_t count = huge_pages::kFromBytes / sizeof(std::uint64_t) + 12345;
    words.reserve(count);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(words.data()) % kHugePage, 0u);
    words.resize(count, 7);
    EXPECT_EQ(words.front(), 7u);
    EXPECT_EQ(words.back(), 7u);
}

TEST(HugePageAllocator, SmallArraysAreHeapMemory) {
    Words words(100, 3);
    EXPECT_EQ(words[99], 3u);
    EXPECT_LT(words.capacity() * sizeof(std::uint64_t), huge_pages::kFromBytes);
}

TEST(HugePageAllocator, AnImpossibleCountIsBadAlloc) {
    HugePageAllocator<std::uint64_t> allocator;
    EXPECT_THROW((void)allocator.allocate(SIZE_MAX / 4), std::bad_array_new_length);
    // Fits size_t but no address space: mmap refuses.
    EXPECT_THROW((void)allocator.allocate(SIZE_MAX / 16), std::bad_alloc);
}

} // namespace
} // namespace tlsheap::replay
