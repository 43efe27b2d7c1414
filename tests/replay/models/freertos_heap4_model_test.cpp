// The freertos-heap4 model on hand-built sequences. Numbers are worked out from
// portable/MemMang/heap_4.c: on a 32-bit target with portBYTE_ALIGNMENT 8 the
// header (xHeapStructSize) is 8 bytes, a block wants roundup(n + 8, 8) bytes,
// and it is split only when more than 16 (heapMINIMUM_BLOCK_SIZE) would remain.
// A block starting at b hands out b + 8.
#include "allocation_script.h"
#include "checked_model.h"

#include <gtest/gtest.h>

namespace tlsheap::replay::testing {
namespace {

TEST(FreertosHeap4Model, HeaderAndAlignment) {
    CheckedModel heap("freertos-heap4", 4);
    EXPECT_EQ(heap.take(1), 8u);  // wants 16: block [0, 16)
    EXPECT_EQ(heap.take(8), 24u); // wants 16: block [16, 32)
    EXPECT_EQ(heap.take(9), 40u); // wants 24: block [32, 56)
    EXPECT_EQ(heap.take(1), 64u);

    // 64-bit: BlockLink_t is 16 bytes, the minimum block 32.
    CheckedModel lp64("freertos-heap4", 8);
    EXPECT_EQ(lp64.take(1), 16u); // wants 24
    EXPECT_EQ(lp64.take(8), 40u); // wants 24
    EXPECT_EQ(lp64.take(9), 64u); // wants 32

    CheckedModel align4("freertos-heap4:align=4", 4);
    EXPECT_EQ(align4.take(1), 8u);  // wants 12
    EXPECT_EQ(align4.take(5), 20u); // wants 16
}

// prvHeapInit on a ucHeap at 4 mod 8 (heap 1000): the start moves up 4 bytes,
// the size down 4; pxEnd at 4 + aligned_down(1000 - 4 - 8) = 988, so the first
// block is [4, 988): 984 bytes where an aligned ucHeap has 992.
TEST(FreertosHeap4Model, AMisalignedUcHeapLosesTheBytesToItsAlignment) {
    CheckedModel aligned("freertos-heap4", 4, 1000);
    EXPECT_EQ(aligned->heap_figures().free_bytes, 992u);
    CheckedModel heap("freertos-heap4:start=4", 4, 1000);
    EXPECT_EQ(heap->heap_figures().free_bytes, 984u);
    EXPECT_EQ(heap.take(1), 12u);                 // block [4, 20)
    EXPECT_EQ(heap.take(8), 28u);                 // block [20, 36)
    EXPECT_FALSE(heap.allocate(945).has_value()); // wants 960; [36, 988) holds 952
    EXPECT_EQ(heap.take(944), 44u);               // wants 952: the rest of the heap
    // ucHeap at 1 mod 8 skips 7: pxEnd at 7 + aligned_down(985) = 991.
    CheckedModel odd("freertos-heap4:start=1", 4, 1000);
    EXPECT_EQ(odd->heap_figures().free_bytes, 984u);
    EXPECT_EQ(odd.take(1), 15u);
    EXPECT_EQ(odd->smallest_pool(), 7u + 16u + 8u);
}

TEST(FreertosHeap4Model, SplitsOnlyAboveTheMinimumBlock) {
    CheckedModel whole("freertos-heap4", 4);
    const std::uint64_t a = whole.take(48); // wants 56: [0, 56)
    whole.take(1);                          // [56, 72)
    whole.release(a);
    // 32 + 8 = 40 wanted, 56 - 40 = 16 is not more than 16: the whole block.
    EXPECT_EQ(whole.take(32), 8u);
    EXPECT_EQ(whole->used_bytes(), 56u + 16u);

    CheckedModel split("freertos-heap4", 4);
    const std::uint64_t b = split.take(48);
    split.take(1);
    split.release(b);
    EXPECT_EQ(split.take(24), 8u); // wants 32, 24 remain: split, [32, 56) stays free
    EXPECT_EQ(split.take(1), 40u); // [32, 56) is lowest; 24 - 16 = 8 remain: whole
    EXPECT_EQ(split.take(1), 80u); // then the tail at 72
    EXPECT_EQ(split->used_bytes(), 32u + 16u + 24u + 16u);
}

TEST(FreertosHeap4Model, FirstFitInAddressOrder) {
    CheckedModel heap("freertos-heap4", 4);
    const std::uint64_t a = heap.take(96); // wants 104: [0, 104)
    heap.take(1);                          // [104, 120)
    const std::uint64_t b = heap.take(96); // [120, 224)
    heap.take(1);                          // [224, 240)
    heap.release(a);
    heap.release(b);
    // The lowest fitting block, however recently the other was freed (the
    // mbedtls pool would take b, the last one freed).
    EXPECT_EQ(heap.take(50), a);
}

TEST(FreertosHeap4Model, CoalescesWithBothNeighbours) {
    CheckedModel heap("freertos-heap4", 4);
    const std::uint64_t a = heap.take(24); // wants 32: [0, 32)
    const std::uint64_t b = heap.take(24); // [32, 64)
    const std::uint64_t c = heap.take(24); // [64, 96)
    heap.take(1);                          // [96, 112)
    heap.release(a);
    heap.release(c);
    heap.release(b);             // joins a before it and c after it: [0, 96) free
    EXPECT_EQ(heap.take(88), a); // wants exactly 96
    EXPECT_EQ(heap.take(1), 120u);
}

TEST(FreertosHeap4Model, EndMarkerAndHeapLimits) {
    // pxEnd at aligned_down(100 - 8) = 88: one free block [0, 88).
    CheckedModel heap("freertos-heap4", 4, 100);
    EXPECT_EQ(heap.take(80), 8u); // wants 88: all of it
    EXPECT_EQ(heap.allocate(1), std::nullopt);
    EXPECT_EQ(heap.statistic("minimum_ever_free"), 0u);

    // pxEnd at aligned_down(95 - 8) = 80.
    CheckedModel smaller("freertos-heap4", 4, 95);
    EXPECT_EQ(smaller.allocate(80), std::nullopt); // wants 88
    EXPECT_EQ(smaller.take(72), 8u);               // wants 80

    CheckedModel refused("freertos-heap4", 4, 15);
    EXPECT_EQ(refused.allocate(1), std::nullopt);

    // xMinimumEverFreeBytesRemaining counts whole blocks, headers included.
    CheckedModel counted("freertos-heap4", 4, 1000); // pxEnd at 992
    const std::uint64_t first = counted.take(100);   // wants 112: 880 free
    counted.take(200);                               // wants 208: 672 free
    counted.release(first);                          // 784 free
    EXPECT_EQ(counted.statistic("minimum_ever_free"), 672u);
}

TEST(FreertosHeap4Model, SizeLimitsOfA32BitTarget) {
    CheckedModel heap("freertos-heap4", 4);
    EXPECT_EQ(heap.allocate(0), std::nullopt);
    EXPECT_EQ(heap.allocate(0x7FFFFFF9), std::nullopt); // wants 0x80000008: the allocated bit
    EXPECT_EQ(heap.allocate(0xFFFFFFF8), std::nullopt); // n + 8 overflows
    EXPECT_EQ(heap->statistics().size(), 0u);           // unbounded: no heap to count down
}

TEST(FreertosHeap4Model, MinimumHeapLeavesNoRoomForASplitHeader) {
    // One block wanting 112 bytes: pxEnd at 112 suffices, the heap is 112 + 8.
    CheckedModel one("freertos-heap4", 4);
    one.take(100);
    EXPECT_EQ(one->min_pool_after_replay(), 120u);
    EXPECT_EQ(CheckedModel("freertos-heap4", 4, 120).take(100), 8u);
    EXPECT_EQ(CheckedModel("freertos-heap4", 4, 119).allocate(100), std::nullopt);

    // a wants [0, 112), b [112, 128). pxEnd at 128 would hand a the whole heap
    // (128 - 112 = 16 is not more than 16), leaving nothing for b while a is
    // live; pxEnd must be above 112 + 16, so at 136: the heap is 144.
    CheckedModel two("freertos-heap4", 4);
    two.take(100);
    two.take(8);
    EXPECT_EQ(two->min_pool_after_replay(), 144u);
    CheckedModel at_minimum("freertos-heap4", 4, 144);
    EXPECT_EQ(at_minimum.take(100), 8u);
    EXPECT_EQ(at_minimum.take(8), 120u);          // the last 24 bytes, whole
    CheckedModel below("freertos-heap4", 4, 143); // pxEnd at 128
    EXPECT_EQ(below.take(100), 8u);
    EXPECT_EQ(below.allocate(8), std::nullopt);
}

TEST(FreertosHeap4Model, FreeSpaceBelowFootprint) {
    CheckedModel heap("freertos-heap4", 4);
    const std::uint64_t a = heap.take(100); // [0, 112)
    heap.take(1);                           // [112, 128); the split writes a BlockLink_t at 128
    heap.release(a);
    EXPECT_EQ(heap->footprint(), 136u);
    EXPECT_EQ(heap->free_bytes_below_footprint(), 104u);         // a's block less its header
    EXPECT_EQ(heap->largest_free_block_below_footprint(), 104u); // wants 112
}

// Model against itself: a heap of min_pool_after_replay() replays the unbounded
// placement exactly, and one byte less makes an allocation fail (address-order
// first fit cannot take another path).
TEST(FreertosHeap4Model, RandomTracesNeedExactlyTheMinimumHeap) {
    for (unsigned pointer_size : {4u, 8u})
        for (const char* spec : {"freertos-heap4", "freertos-heap4:align=4"})
            for (unsigned seed = 0; seed < 150; ++seed) {
                SCOPED_TRACE(std::string(spec) + " ptr " + std::to_string(pointer_size) + " seed " +
                             std::to_string(seed));
                const std::vector<ScriptEvent> script = random_script(seed, 250, 6000);
                CheckedModel unbounded(spec, pointer_size);
                const auto placement = replay(*unbounded, script);
                const std::uint64_t minimum = unbounded->min_pool_after_replay();
                CheckedModel at_minimum(spec, pointer_size, minimum);
                ASSERT_EQ(replay(*at_minimum, script), placement);
                CheckedModel below(spec, pointer_size, minimum - 1);
                const auto results = replay(*below, script);
                ASSERT_TRUE(std::find(results.begin(), results.end(), std::nullopt) !=
                            results.end());
            }
}

// vPortGetHeapStats on a bounded heap: xAvailableHeapSpaceInBytes is
// xFreeBytesRemaining and xSizeOfLargestFreeBlockInBytes the largest xBlockSize,
// both with the 8-byte headers in; a block of s bytes serves up to s - 8.
TEST(FreertosHeap4Model, HeapStatsOfABoundedHeap) {
    // pxEnd at aligned_down(200 - 8) = 192: one free block [0, 192).
    CheckedModel heap("freertos-heap4", 4, 200);
    auto figures = [&] {
        const HeapFigures f = heap->heap_figures();
        return std::vector<std::uint64_t>{f.free_bytes, f.largest_free_block, f.largest_request};
    };
    using Figures = std::vector<std::uint64_t>;
    EXPECT_EQ(figures(), (Figures{192, 192, 184}));
    const std::uint64_t a = heap.take(24); // wants 32: [0, 32), free [32, 192)
    EXPECT_EQ(figures(), (Figures{160, 160, 152}));
    heap.take(40); // wants 48: [32, 80)
    heap.take(8);  // wants 16: [80, 96), free [96, 192)
    EXPECT_EQ(figures(), (Figures{96, 96, 88}));
    heap.release(a); // free [0, 32) and [96, 192)
    EXPECT_EQ(figures(), (Figures{128, 96, 88}));
    // 89 wants roundup(97, 8) = 104: no block, though 128 bytes are free.
    EXPECT_FALSE(heap.allocate(89).has_value());
    EXPECT_EQ(figures(), (Figures{128, 96, 88}));
    EXPECT_EQ(heap.take(88), 104u); // wants 96: all of [96, 192)
    EXPECT_EQ(figures(), (Figures{32, 32, 24}));
    EXPECT_EQ(heap->heap_figures_source().rfind("xPortGetHeapStats", 0), 0u);
}

} // namespace
} // namespace tlsheap::replay::testing
