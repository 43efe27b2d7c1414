// The esp-tlsf model on hand-built sequences. Numbers are worked out from
// multi_heap.c and tlsf (espressif): the region starts with heap_t (20 bytes)
// and control_t (36 bytes + 4 per first-level list + 4 per list); the first
// block's pointer is 4 bytes after that. A block of s bytes at pointer p is
// followed by the next block's pointer at p + s + 4.
//
// The default heap (256 KiB): bytes = 262124, fl_index_max 18, sl_log2 4,
// fl_shift 6, 13 x 16 lists: control 36 + 52 + 832 = 920, first pointer
// 20 + 920 + 4 = 944. Classes below 64 bytes are 4 bytes wide (fl 0); above,
// class (fl, sl) of size s is fl = fls(s) - 5, sl = bits below the top one.
#include "checked_model.h"

#include <gtest/gtest.h>

namespace tlsheap::replay::testing {
namespace {

TEST(EspTlsfModel, ControlBlockSizeFollowsTheHeapSize) {
    EXPECT_EQ(CheckedModel("esp-tlsf").take(1), 944u);
    // bytes 16384: sl_log2 3, fl_index_max 15, 11 x 8 lists: 36 + 44 + 352 = 432.
    EXPECT_EQ(CheckedModel("esp-tlsf", 4, 16404).take(1), 456u);
    EXPECT_EQ(CheckedModel("esp-tlsf:heap=16404").take(1), 456u);
    // bytes 16388: sl_log2 4, fl_index_max 15, 10 x 16 lists: 36 + 40 + 640 = 716.
    EXPECT_EQ(CheckedModel("esp-tlsf", 4, 16408).take(1), 740u);
    // bytes 524268: sl_log2 5, fl_index_max 19, 13 x 32 lists: 36 + 52 + 1664 = 1752.
    EXPECT_EQ(CheckedModel("esp-tlsf", 4, 524288).take(1), 1776u);
}

TEST(EspTlsfModel, SmallestBlockIsTwelveBytes) {
    CheckedModel heap("esp-tlsf");
    EXPECT_EQ(heap.take(1), 944u);
    EXPECT_EQ(heap.take(12), 960u);
    EXPECT_EQ(heap.take(13), 976u); // 16 bytes
    EXPECT_EQ(heap.take(1), 996u);
}

TEST(EspTlsfModel, FromV54TheBlockKeepsTheRoundedSize) {
    // 1000: fls 9, rounding step 1 << (9 - 4) = 32; v5.4 trims to 1024.
    for (const char* spec : {"esp-tlsf:idf=5.4", "esp-tlsf:idf=5.5"}) {
        CheckedModel heap(spec);
        EXPECT_EQ(heap.take(1000), 944u);
        EXPECT_EQ(heap.take(1), 944u + 1024u + 4u) << spec;
    }
    for (const char* spec : {"esp-tlsf:idf=5.1", "esp-tlsf:idf=5.3"}) {
        CheckedModel heap(spec);
        EXPECT_EQ(heap.take(1000), 944u);
        EXPECT_EQ(heap.take(1), 944u + 1000u + 4u) << spec;
    }
}

TEST(EspTlsfModel, GoodFitSkipsABlockInTheRequestsOwnClass) {
    CheckedModel heap("esp-tlsf:idf=5.3");
    const std::uint64_t a = heap.take(196); // 944, 196 bytes: class (2, 8) = 192..199
    const std::uint64_t guard = heap.take(1);
    EXPECT_EQ(guard, 944u + 196u + 4u);
    heap.release(a);
    // 193 -> 196, searched as 196 + 7 = 203: class (2, 9). The 196-byte block
    // would fit but sits in (2, 8): the next non-empty list is the big block.
    EXPECT_EQ(heap.take(193), guard + 12u + 4u);
    // 190 -> 192, searched as 199: class (2, 8), the 196-byte block.
    EXPECT_EQ(heap.take(190), a);

    // v5.5 rounds 196 up to 200 (class (2, 9)) when allocating, so 193 fits it.
    CheckedModel rounded("esp-tlsf:idf=5.5");
    const std::uint64_t b = rounded.take(196);
    EXPECT_EQ(rounded.take(1), 944u + 200u + 4u);
    rounded.release(b);
    EXPECT_EQ(rounded.take(193), b);
}

TEST(EspTlsfModel, SplitNeedsSixteenSpareBytes) {
    CheckedModel heap("esp-tlsf:idf=5.3");
    const std::uint64_t a = heap.take(196);
    heap.take(1); // guard at 1144, 12 bytes; the big block follows at 1160
    heap.release(a);
    // 196 >= 180 + 16: split; the remainder, 196 - 184 = 12 bytes at 1128.
    EXPECT_EQ(heap.take(180), a);
    EXPECT_EQ(heap.take(1), 1128u);

    CheckedModel whole("esp-tlsf:idf=5.3");
    const std::uint64_t b = whole.take(196);
    whole.take(1);
    whole.release(b);
    EXPECT_EQ(whole.take(184), b); // 196 < 184 + 16: whole
    EXPECT_EQ(whole.take(1), 1160u);
}

TEST(EspTlsfModel, FreeMergesBothNeighboursAndListsAreLastInFirstOut) {
    CheckedModel heap("esp-tlsf:idf=5.3");
    const std::uint64_t a = heap.take(100); // 944
    const std::uint64_t b = heap.take(100); // 1048
    const std::uint64_t c = heap.take(100); // 1152
    heap.take(1);                           // 1256
    heap.release(a);
    heap.release(c);
    heap.release(b); // 100 + 4 + 100 + 4 + 100 = 308 bytes at 944
    // 300, searched as 300 + 15: class (3, 3) = 304..319, where 308 is.
    EXPECT_EQ(heap.take(300), a);

    CheckedModel lifo("esp-tlsf:idf=5.3");
    const std::uint64_t x = lifo.take(40); // 944
    lifo.take(1);                          // 988
    const std::uint64_t y = lifo.take(40); // 1004
    lifo.take(1);
    lifo.release(x);
    lifo.release(y); // both in class (0, 10); y heads the list
    EXPECT_EQ(lifo.take(40), y);
    EXPECT_EQ(lifo.take(40), x);
}

TEST(EspTlsfModel, GoodFitCannotUseAllOfTheLastBlock) {
    // Region 1024: bytes 1004, fl_index_max 10, sl_log2 3, 6 x 8 lists:
    // control 36 + 24 + 192 = 252; the pool block holds (1004 - 252 - 8) = 744
    // bytes at 276, class (5, 3) = 704..767.
    for (const char* spec : {"esp-tlsf:idf=5.3", "esp-tlsf:idf=5.5"}) {
        CheckedModel heap(spec, 4, 1024);
        EXPECT_EQ(heap.allocate(705), std::nullopt) << spec; // 708, searched in (5, 4)
        EXPECT_EQ(heap.take(704), 276u) << spec;             // (5, 3); 36 bytes left
        // multi_heap counts 1004 - 252 = 752 free, less 704 + 4.
        EXPECT_EQ(heap.statistic("minimum_free_bytes"), 44u) << spec;
    }
}

TEST(EspTlsfModel, RegionLimits) {
    CheckedModel heap("esp-tlsf");
    // bytes 200: fl_index_max 8, 4 x 8 lists, control 36 + 16 + 128 = 180;
    // the pool keeps 200 - 180 - 8 = 12 bytes, one minimum block. Below, no
    // pool (under 128 bytes, 3 x 8 lists already take 144).
    EXPECT_EQ(heap->smallest_pool(), 220u);
    EXPECT_EQ(CheckedModel("esp-tlsf", 4, 220).take(12), 204u);
    EXPECT_EQ(CheckedModel("esp-tlsf", 4, 219).allocate(1), std::nullopt);
    EXPECT_EQ(heap->largest_pool(), std::optional<std::uint64_t>(0x7FFFFFFF));
    EXPECT_FALSE(heap->placement_independent_of_pool_end());
    // Requests of 1 << fl_index_max and more fail at once.
    EXPECT_EQ(heap.allocate(262144), std::nullopt);
}

TEST(EspTlsfModel, FreeSpaceBelowFootprint) {
    CheckedModel heap("esp-tlsf:idf=5.3");
    // A split writes the remainder's size field and free-list links: up to
    // 12 bytes past the allocated block.
    const std::uint64_t a = heap.take(196); // 944..1140; links up to 1152
    heap.take(1);                           // 1144..1156; the big block's links up to 1168
    heap.release(a);
    EXPECT_EQ(heap->footprint(), 1168u);
    // a's 196 bytes, and the first 8 of the big block (its pointer is 1160).
    EXPECT_EQ(heap->free_bytes_below_footprint(), 196u + 8u);
    // 196 is in class (2, 8) = 192..199: a request of 192 is the largest it serves.
    EXPECT_EQ(heap->largest_free_block_below_footprint(), 192u);
    EXPECT_EQ(heap->used_bytes(), 12u + 4u);
}

// heap_caps_get_free_size and heap_caps_get_largest_free_block on a bounded
// region: heap->free_bytes, and the largest free block through tlsf_fit_size.
// Region 992: bytes 972, fl_index_max 10, sl_log2 3, 6 x 8 lists: control
// 36 + 24 + 192 = 252; free_bytes 972 - 252 = 720; the pool's one block
// (972 - 252 - 8) & ~3 = 712 bytes.
TEST(EspTlsfModel, HeapCapsFiguresOfABoundedHeap) {
    CheckedModel heap("esp-tlsf:idf=5.5", 4, 992);
    auto figures = [&] {
        const HeapFigures f = heap->heap_figures();
        return std::vector<std::uint64_t>{f.free_bytes, f.largest_free_block, f.largest_request};
    };
    using Figures = std::vector<std::uint64_t>;
    // 712 is in class [704, 768) (interval 64): good fit serves up to 704.
    EXPECT_EQ(figures(), (Figures{720, 704, 704}));
    // 705 rounds up to the next class, which has no block; 704 takes the block.
    EXPECT_FALSE(heap.allocate(705).has_value());
    const std::uint64_t all = heap.take(704); // not split: 712 < 704 + 16
    // multi_heap takes the block's whole size and its size field off free_bytes.
    EXPECT_EQ(figures(), (Figures{720 - 712 - 4, 0, 0}));
    heap.release(all);
    // 100 rounds to 104 (class interval 8); the rest: 712 - 104 - 4 = 604,
    // in class [576, 640). free_bytes loses the block and its size field.
    heap.take(100);
    EXPECT_EQ(figures(), (Figures{612, 576, 576}));
}

} // namespace
} // namespace tlsheap::replay::testing
