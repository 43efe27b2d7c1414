// The mbedtls-pool model on hand-built sequences. Numbers are worked out from
// library/memory_buffer_alloc.c: header H = 8 words (32 B on ILP32), blocks
// rounded to MBEDTLS_MEMORY_ALIGN_MULTIPLE (4), a split needs H + 4 spare
// bytes. A block whose header sits at h hands out h + H.
#include "allocation_script.h"
#include "checked_model.h"

#include <gtest/gtest.h>

namespace tlsheap::replay::testing {
namespace {

TEST(MbedtlsPoolModel, HeaderFollowsPointerSizeAndBacktrace) {
    // The first block's header sits at the pool start: the pointer is one header in.
    EXPECT_EQ(CheckedModel("mbedtls-pool", 4).take(1), 32u); // 7 words + magic2, 4-byte words
    EXPECT_EQ(CheckedModel("mbedtls-pool", 8).take(1), 64u);
    EXPECT_EQ(CheckedModel("mbedtls-pool:backtrace=on", 4).take(1), 40u); // + trace, trace_count
    EXPECT_EQ(CheckedModel("mbedtls-pool:backtrace=on", 8).take(1), 80u);
    EXPECT_EQ(CheckedModel("mbedtls-pool:ptr=4", 8).take(1), 32u); // the option wins
}

TEST(MbedtlsPoolModel, RequestsRoundUpToTheAlignment) {
    CheckedModel pool("mbedtls-pool", 4);
    EXPECT_EQ(pool.take(1), 32u);  // header 0, 4 bytes: next header at 36
    EXPECT_EQ(pool.take(10), 68u); // header 36, 12 bytes: next header at 80
    EXPECT_EQ(pool.take(16), 112u);

    CheckedModel align16("mbedtls-pool:align=16", 4);
    EXPECT_EQ(align16.take(1), 32u);  // 16 bytes: next header at 48
    EXPECT_EQ(align16.take(10), 80u); // 16 bytes: next header at 96
    EXPECT_EQ(align16.take(16), 128u);

    CheckedModel align1("mbedtls-pool:align=1", 4);
    EXPECT_EQ(align1.take(1), 32u); // next header at 33: the real code does not care
    EXPECT_EQ(align1.take(10), 65u);
}

TEST(MbedtlsPoolModel, FirstFitFollowsListOrderNotAddressOrder) {
    CheckedModel pool("mbedtls-pool", 4);
    const std::uint64_t a = pool.take(100); // header 0
    pool.take(4);                           // header 132
    const std::uint64_t b = pool.take(100); // header 168
    pool.take(4);                           // header 300, tail header at 336
    EXPECT_EQ(a, 32u);
    EXPECT_EQ(b, 200u);
    pool.release(a); // list: a, tail
    pool.release(b); // pushed at the head: b, a, tail
    // b comes first in the list although a is lower: 100 - 52 = 48 >= 36, so
    // b is split and the remainder (header 252, 16 bytes) takes b's list place.
    EXPECT_EQ(pool.take(50), 200u);
    EXPECT_EQ(pool.take(16), 284u); // the remainder, 16 - 16 < 36: handed out whole
    EXPECT_EQ(pool.take(100), 32u); // then a
    EXPECT_EQ(pool.take(1), 368u);  // then the tail
}

TEST(MbedtlsPoolModel, SplitsOnlyWhenHeaderPlusAlignmentRemain) {
    CheckedModel pool("mbedtls-pool", 4);
    const std::uint64_t a = pool.take(100);
    pool.take(4);
    pool.release(a);
    // 100 - 64 = 36 = H + 4: split; the remainder's header at 96 holds 4 bytes.
    EXPECT_EQ(pool.take(64), 32u);
    EXPECT_EQ(pool.take(4), 128u);
}

TEST(MbedtlsPoolModel, WholeBlockKeepsItsSizeInTheCounters) {
    CheckedModel pool("mbedtls-pool", 4);
    const std::uint64_t a = pool.take(100); // split: 1 extra header, 100 used
    pool.take(4);                           // split: 2 headers, 104 used
    pool.release(a);                        // 4 used
    // 65 rounds to 68; 100 - 68 = 32 < 36: the whole 100-byte block goes out.
    EXPECT_EQ(pool.take(65), 32u);
    EXPECT_EQ(pool->used_bytes(), (32u + 100u) + (32u + 4u));
    EXPECT_EQ(pool.take(1), 200u); // the tail: nothing was left of a
    // total_used counts the whole block: 4 + 100, then + 4; three splits.
    EXPECT_EQ(pool.statistic("max_used"), 108u);
    EXPECT_EQ(pool.statistic("max_blocks"), 3u);
    EXPECT_EQ(pool.statistic("max_total"), 3u * 32u + 108u);
}

TEST(MbedtlsPoolModel, FreeMergesIntoPreviousThenTakesTheNextBlocksListPlace) {
    // Seven 16-byte blocks, 48 bytes apart: headers at 0, 48, ..., 288; tail at 336.
    CheckedModel pool("mbedtls-pool", 4);
    std::vector<std::uint64_t> block;
    for (int i = 0; i < 7; ++i)
        block.push_back(pool.take(16));
    EXPECT_EQ(block[6], 320u);
    pool.release(block[1]); // list: b, tail
    pool.release(block[3]); // d, b, tail
    pool.release(block[5]); // f, d, b, tail
    // c joins b (16 + 32 + 16 = 64, b keeps its place), then b absorbs d
    // (64 + 32 + 16 = 112) and moves into d's place: f, b, tail.
    pool.release(block[2]);
    EXPECT_EQ(pool.take(16), block[5]);  // f is still first
    EXPECT_EQ(pool.take(112), block[1]); // then the merged block, exactly 112 bytes
    EXPECT_EQ(pool.take(1), 368u);       // then the tail
}

TEST(MbedtlsPoolModel, MergeWithThePreviousBlockOnlyKeepsItsListPlace) {
    CheckedModel pool("mbedtls-pool", 4);
    std::vector<std::uint64_t> block;
    for (int i = 0; i < 5; ++i)
        block.push_back(pool.take(16)); // a 32, b 80, c 128, d 176, e 224
    pool.release(block[0]);             // a, tail
    pool.release(block[3]);             // d, a, tail
    pool.release(block[1]);             // b joins a (64 bytes), a stays second: d, a, tail
    EXPECT_EQ(pool.take(16), block[3]);
    EXPECT_EQ(pool.take(64), block[0]);
}

TEST(MbedtlsPoolModel, PoolLimits) {
    // init refuses len < H + 4: every calloc fails.
    CheckedModel refused("mbedtls-pool", 4, 35);
    EXPECT_EQ(refused.allocate(1), std::nullopt);
    EXPECT_EQ(refused->smallest_pool(), 36u);
    CheckedModel smallest("mbedtls-pool", 4, 36); // one block of 4 bytes
    EXPECT_EQ(smallest.take(4), 32u);
    EXPECT_EQ(smallest.allocate(1), std::nullopt);

    CheckedModel tiny("mbedtls-pool", 4, 68); // one block of 68 - 32 = 36 bytes
    EXPECT_EQ(tiny.allocate(37), std::nullopt);
    EXPECT_EQ(tiny.take(36), 32u); // 36 - 36 < 36: whole
    EXPECT_EQ(tiny.allocate(1), std::nullopt);

    // 172 = 132 + 32 + 8: the second block exactly fills what is left.
    CheckedModel exact("mbedtls-pool", 4, 172);
    EXPECT_EQ(exact.take(100), 32u); // 140 - 100 = 40 >= 36: split, header at 132 with 8 bytes
    EXPECT_EQ(exact.take(8), 164u);  // whole
    EXPECT_EQ(exact.allocate(1), std::nullopt);

    // size_t overflow guard of a 32-bit target: len > SIZE_MAX - 4 gives NULL.
    CheckedModel ilp32("mbedtls-pool", 4);
    EXPECT_EQ(ilp32.allocate(0xFFFFFFFC), std::nullopt);
    EXPECT_EQ(ilp32.allocate(0), std::nullopt);
    EXPECT_EQ(ilp32->largest_pool(), std::optional<std::uint64_t>(0xFFFFFFFF));
}

TEST(MbedtlsPoolModel, MinimumPoolNeedNotHoldTheLastSplitHeader) {
    CheckedModel unbounded("mbedtls-pool", 4);
    unbounded.take(100); // header 0, ends at 132
    unbounded.take(8);   // header 132, ends at 172; a split header follows at 172
    EXPECT_EQ(unbounded->footprint(), 172u + 32u);
    // With len 172 the second block is handed out whole: no room for a header needed.
    EXPECT_EQ(unbounded->min_pool_after_replay(), 172u);

    CheckedModel at_minimum("mbedtls-pool", 4, 172);
    EXPECT_EQ(at_minimum.take(100), 32u);
    EXPECT_EQ(at_minimum.take(8), 164u);
    CheckedModel below("mbedtls-pool", 4, 171);
    EXPECT_EQ(below.take(100), 32u);
    EXPECT_EQ(below.allocate(8), std::nullopt); // 171 - 132 - 32 = 7 bytes left
}

// Handing the tail out whole, then freeing it after a free block that is not
// last in the list, puts it before blocks the unbounded replay tries first.
TEST(MbedtlsPoolModel, FreedWholeTailForbidsPoolsThatWouldDiverge) {
    const std::vector<ScriptEvent> script = {
        {true, 0, 16},  // a: header 0, pointer 32
        {true, 1, 16},  // q: header 48, pointer 80
        {true, 2, 8},   // s: header 96, pointer 128, ends at 136
        {true, 3, 16},  // p: header 136, pointer 168
        {true, 4, 100}, // x: header 184, pointer 216, ends at E = 316
        {false, 1, 0},  // list: q, tail
        {false, 3, 0},  // p, q, tail
        {false, 4, 0},  // x joins p, p joins the tail and moves last: q, p
        {true, 5, 16},  // q (first fit): 80
        {true, 6, 148}, // p and the tail: header 136, pointer 168, ends at 316
    };
    const std::vector<std::optional<std::uint64_t>> placement = {32, 80, 128, 168, 216, 80, 168};

    CheckedModel unbounded("mbedtls-pool", 4);
    EXPECT_EQ(replay(*unbounded, script), placement);
    // Every len in [316, 352) hands x out whole (less than 32 + 4 would
    // remain). Freed, x joins p, which keeps the head of the list: the next
    // 16-byte request takes p instead of q. So the smallest len that replays
    // the trace is 316 + 32 + 4, although no block ends above 316.
    EXPECT_EQ(unbounded->min_pool_after_replay(), 352u);

    CheckedModel at_minimum("mbedtls-pool", 4, 352);
    EXPECT_EQ(replay(*at_minimum, script), placement);
    // With 348, x keeps 132 bytes; p + x (180 bytes) heads the list, q's
    // request lands at 168 and leaves a 132-byte block: 148 does not fit.
    CheckedModel diverging("mbedtls-pool", 4, 348);
    const std::vector<std::optional<std::uint64_t>> diverged = {32,  80,  128,         168,
                                                                216, 168, std::nullopt};
    EXPECT_EQ(replay(*diverging, script), diverged);
}

TEST(MbedtlsPoolModel, FreeSpaceBelowFootprint) {
    CheckedModel pool("mbedtls-pool", 4);
    const std::uint64_t a = pool.take(100); // header 0
    pool.take(4);                           // header 132
    const std::uint64_t b = pool.take(40);  // header 168
    pool.take(4);                           // header 240; tail header at 276 ends at 308
    pool.release(a);
    pool.release(b);
    EXPECT_EQ(pool->footprint(), 308u);
    EXPECT_EQ(pool->free_bytes_below_footprint(), 140u); // a and b; the tail has none below
    EXPECT_EQ(pool->largest_free_block_below_footprint(), 100u);
    EXPECT_EQ(pool->used_bytes(), 2u * (32u + 4u));
}

// Model against itself: at min_pool_after_replay() a bounded pool replays the
// unbounded placement exactly; one step lower it does not.
TEST(MbedtlsPoolModel, RandomTracesReplayTheSameAtTheMinimumPool) {
    // Offsets are multiples of the alignment here (it divides the header), so
    // one step is the alignment.
    const std::pair<const char*, std::uint64_t> variants[] = {
        {"mbedtls-pool", 4}, {"mbedtls-pool:align=8,backtrace=on", 8}};
    for (unsigned pointer_size : {4u, 8u})
        for (const auto& [spec, step] : variants)
            for (unsigned seed = 0; seed < 150; ++seed) {
                SCOPED_TRACE(std::string(spec) + " ptr " + std::to_string(pointer_size) + " seed " +
                             std::to_string(seed));
                const std::vector<ScriptEvent> script = random_script(seed, 250, 6000);
                CheckedModel unbounded(spec, pointer_size);
                const auto placement = replay(*unbounded, script);
                const std::uint64_t minimum = unbounded->min_pool_after_replay();
                CheckedModel at_minimum(spec, pointer_size, minimum);
                ASSERT_EQ(replay(*at_minimum, script), placement);
                CheckedModel below(spec, pointer_size, minimum - step);
                ASSERT_NE(replay(*below, script), placement);
            }
}

// memory_buffer_alloc.c reports no free space: the model's own figures are
// the free blocks' sizes (headers out) and the largest request one serves.
// ILP32: header 32, align 4; a 200-byte pool is one free block of 168.
TEST(MbedtlsPoolModel, OwnFiguresOfABoundedPool) {
    CheckedModel pool("mbedtls-pool", 4, 200);
    auto figures = [&] {
        const HeapFigures f = pool->heap_figures();
        return std::vector<std::uint64_t>{f.free_bytes, f.largest_free_block, f.largest_request};
    };
    using Figures = std::vector<std::uint64_t>;
    EXPECT_EQ(figures(), (Figures{168, 168, 168}));
    const std::uint64_t a = pool.take(50); // 52 bytes; the rest 168 - 52 - 32 = 84
    EXPECT_EQ(figures(), (Figures{84, 84, 84}));
    pool.take(10); // 12 bytes; the rest 84 - 12 - 32 = 40
    pool.release(a);
    EXPECT_EQ(figures(), (Figures{92, 52, 52}));
    EXPECT_FALSE(pool.allocate(53).has_value()); // 56 > 52 and > 40: 92 free, no block
    EXPECT_TRUE(pool.allocate(52).has_value());
}

} // namespace
} // namespace tlsheap::replay::testing
