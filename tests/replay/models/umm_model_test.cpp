// The umm model on hand-built sequences. Numbers are worked out from
// umm_malloc.c: 8-byte blocks numbered from the heap start, block 0 heads the
// free list, a request of n bytes needs ceil((n + 4) / 8) blocks, and block c
// hands out 8c + 4.
#include "checked_model.h"

#include <gtest/gtest.h>

namespace tlsheap::replay::testing {
namespace {

TEST(UmmModel, BlockCountsAndOffsets) {
    CheckedModel heap("umm");
    EXPECT_EQ(heap.take(1), 12u);  // 1 block: block 1
    EXPECT_EQ(heap.take(4), 20u);  // 1 block: block 2
    EXPECT_EQ(heap.take(5), 28u);  // 2 blocks: 3..4
    EXPECT_EQ(heap.take(12), 44u); // 2 blocks: 5..6
    EXPECT_EQ(heap.take(13), 60u); // 3 blocks: 7..9
    EXPECT_EQ(heap.take(1), 84u);  // block 10
    EXPECT_EQ(heap->used_bytes(), 8u * (1 + 1 + 2 + 2 + 3 + 1));
    EXPECT_EQ(heap->footprint(), 8u * 12); // through block 11, the rest's header
}

// Free blocks of 5, 2, 2 and 3 blocks, in that list order, then the tail.
struct FourHoles {
    explicit FourHoles(CheckedModel& heap) {
        a = heap.take(20); // 3 blocks at 1
        heap.take(1);      // 4
        b = heap.take(12); // 2 blocks at 5
        heap.take(1);      // 7
        c = heap.take(12); // 2 blocks at 8
        heap.take(1);      // 10
        d = heap.take(36); // 5 blocks at 11
        heap.take(1);      // 16; the tail starts at 17
        heap.release(a);
        heap.release(c);
        heap.release(b);
        heap.release(d); // list: d(5), b(2), c(2), a(3), tail
    }
    std::uint64_t a, b, c, d;
};

TEST(UmmModel, BestFitTakesTheFirstOfTheSmallestFits) {
    CheckedModel heap("umm");
    const FourHoles holes(heap);
    EXPECT_EQ(holes.b, 44u);
    EXPECT_EQ(heap.take(10), holes.b); // 2 blocks: b and c tie, b comes first
    EXPECT_EQ(heap.take(10), holes.c);
    EXPECT_EQ(heap.take(10), holes.a); // 3 blocks beat 5
}

TEST(UmmModel, FirstFitTakesTheFrontOfTheFirstFit) {
    CheckedModel heap("umm:fit=first");
    const FourHoles holes(heap);
    EXPECT_EQ(heap.take(10), holes.d);      // blocks 11..12
    EXPECT_EQ(heap.take(10), holes.d + 16); // the rest (13..15) kept d's list place
}

TEST(UmmModel, FreeAbsorbsTheNextBlockThenMergesIntoThePrevious) {
    CheckedModel heap("umm:fit=first");
    std::vector<std::uint64_t> block;
    for (int i = 0; i < 6; ++i)
        block.push_back(heap.take(1)); // blocks 1..6; the tail starts at 7
    heap.release(block[4]);            // list: v(5), tail
    heap.release(block[0]);            // x(1), v, tail
    heap.release(block[2]);            // z(3), x, v, tail
    // y (2) absorbs z, taking z off the list, then merges into x, which keeps
    // its place: x (blocks 1..3), v, tail.
    heap.release(block[1]);
    EXPECT_EQ(heap.take(1), block[0]);  // x's front; the rest (2..3) keeps x's place
    EXPECT_EQ(heap.take(12), block[1]); // 2 blocks: 2..3
    EXPECT_EQ(heap.take(1), block[4]);  // then v
}

TEST(UmmModel, HeapLimits) {
    // umm_init_heap checks no size. 8 blocks: 1..6 free, 7 ends the heap.
    CheckedModel eight("umm", 4, 64);
    EXPECT_EQ(eight.take(44), 12u); // 6 blocks, an exact fit
    EXPECT_EQ(eight.allocate(1), std::nullopt);
    // 3 blocks: block 1 is the one to hand out (a request of up to 4 bytes).
    CheckedModel smallest("umm", 4, 24);
    EXPECT_EQ(smallest.allocate(5), std::nullopt);
    EXPECT_EQ(smallest.take(4), 12u);
    EXPECT_EQ(smallest->smallest_pool(), 24u);
    EXPECT_EQ(CheckedModel("umm", 4, 23).allocate(1), std::nullopt); // 2 blocks: none to hand out

    // 32,768 blocks: the last is block 32,767, the largest 15-bit number. A
    // heap of 32,766 free blocks serves a request of 32,766 blocks.
    CheckedModel largest("umm", 4, 262144);
    EXPECT_EQ(largest.take(8 * 32765 + 4), 12u);
    EXPECT_EQ(largest.allocate(1), std::nullopt);
    EXPECT_EQ(CheckedModel("umm", 4, 262151).take(1), 12u); // the 7 bytes over are unused
    EXPECT_EQ(CheckedModel("umm", 4, 262152).allocate(1), std::nullopt); // 32,769 blocks
    EXPECT_EQ(CheckedModel("umm")->largest_pool(), std::optional<std::uint64_t>(262151));

    CheckedModel heap("umm");
    EXPECT_EQ(heap.allocate(0), std::nullopt);
    EXPECT_EQ(heap.allocate(300000), std::nullopt); // more blocks than a heap can hold
}

TEST(UmmModel, BestFitDependsOnWhereTheHeapEnds) {
    // 20 blocks (last 19): a takes 1..8, a guard 9, the tail 10..18 (9 blocks).
    CheckedModel large("umm", 4, 160);
    const std::uint64_t a = large.take(60); // 8 blocks
    large.take(1);
    large.release(a);
    EXPECT_EQ(large.take(44), a); // 6 blocks: a (8) fits better than the tail (9)

    // 18 blocks: the tail is 10..16 (7 blocks) and now fits better than a.
    CheckedModel small("umm", 4, 144);
    const std::uint64_t b = small.take(60);
    small.take(1);
    small.release(b);
    EXPECT_EQ(small.take(44), 84u); // block 10
    EXPECT_FALSE(small->placement_independent_of_pool_end());
}

TEST(UmmModel, FreeSpaceBelowFootprint) {
    CheckedModel heap("umm");
    const std::uint64_t a = heap.take(20); // blocks 1..3
    heap.take(1);                          // block 4; footprint through block 5
    heap.release(a);
    EXPECT_EQ(heap->footprint(), 48u);
    // a: 3 blocks, 4 of them header: 20 bytes; the tail's first block: 4.
    EXPECT_EQ(heap->free_bytes_below_footprint(), 20u + 4u);
    EXPECT_EQ(heap->largest_free_block_below_footprint(), 20u);
}

// umm_free_heap_size and umm_max_free_block_size on a bounded heap: umm_info's
// freeBlocks and maxFreeContiguousBlocks times 8, headers in, the last block
// (the end marker) and block 0 (the list head) not counted. A run of k free
// blocks serves up to 8k - 4 bytes.
TEST(UmmModel, UmmInfoFiguresOfABoundedHeap) {
    // 20 blocks: block 0, free blocks 1..18, end marker 19.
    CheckedModel heap("umm", 4, 160);
    auto figures = [&] {
        const HeapFigures f = heap->heap_figures();
        return std::vector<std::uint64_t>{f.free_bytes, f.largest_free_block, f.largest_request};
    };
    using Figures = std::vector<std::uint64_t>;
    EXPECT_EQ(figures(), (Figures{144, 144, 140}));
    const std::uint64_t a = heap.take(20); // 3 blocks: 1..3
    EXPECT_EQ(figures(), (Figures{120, 120, 116}));
    heap.take(4); // 1 block: 4; free 5..18
    heap.release(a);
    EXPECT_EQ(figures(), (Figures{136, 112, 108}));
    EXPECT_FALSE(heap.allocate(109).has_value()); // 15 blocks: no run that long
    EXPECT_TRUE(heap.allocate(108).has_value());  // 14 blocks: all of 5..18
    EXPECT_EQ(figures(), (Figures{24, 24, 20}));
}

} // namespace
} // namespace tlsheap::replay::testing
