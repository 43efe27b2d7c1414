// The engine's lifecycle figures on hand-built traces, worked out by hand:
// the per-cycle table (a cycle is the connections open together, until all
// were torn down) and the verdict on a heap of fixed size.
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_meta.h"
#include "trace_builder.h"

#include <gtest/gtest.h>

namespace tlsheap::replay {
namespace {

using testing::TraceBuilder;
using trace::Phase;

ReplayResult run(std::vector<unsigned char> bytes, std::vector<std::string> models,
                 std::optional<std::uint64_t> heap = std::nullopt) {
    auto reader = trace::TraceReader::from_bytes(std::move(bytes));
    ReplayOptions options;
    for (const auto& m : models) {
        options.models.push_back(ModelSpec::parse(m));
    }
    options.pool_size = heap;
    options.verify_every_event = true;
    return replay_trace(*reader, options);
}

// The shared part holds 1,000 bytes; each of `cycles` reconnects allocates
// 200 (freed at its teardown), 5,000 in the handshake (freed there) and, when
// `leak`, 64 bytes it never frees. Connections are numbered from 1.
std::vector<unsigned char> reconnect_trace(unsigned cycles, bool leak) {
    TraceBuilder b;
    b.meta(trace::meta::kPointerSize, "4");
    b.connection(trace::kSharedConnection).phase(Phase::Setup);
    b.alloc(1000, 0x100000);
    for (unsigned c = 1; c <= cycles; ++c) {
        const std::uint64_t base = 0x200000 + c * 0x10000;
        b.connection(c).phase(Phase::Setup);
        b.alloc(200, base);
        if (leak) {
            b.alloc(64, base + 0x1000);
        }
        b.phase(Phase::Handshake);
        b.alloc(5000, base + 0x2000);
        b.free(base + 0x2000);
        b.phase(Phase::Close);
        b.phase(Phase::Teardown);
        b.free(base);
    }
    b.connection(trace::kSharedConnection).phase(Phase::Teardown);
    b.free(0x100000);
    return b.finish();
}

TEST(CycleTable, ReconnectsWithoutLeaksGiveEqualRows) {
    const ReplayResult r = run(reconnect_trace(4, false), {"ideal", "freertos-heap4"});
    ASSERT_EQ(r.cycles.size(), 4u);
    for (unsigned i = 0; i < 4; ++i) {
        const CycleRow& row = r.cycles[i];
        EXPECT_EQ(row.cycle, i + 1);
        EXPECT_EQ(row.first_connection, i + 1);
        EXPECT_EQ(row.connections, 1u);
        EXPECT_EQ(row.leaked, 0u);
        EXPECT_EQ(row.live_at_end, 1000u);
        EXPECT_EQ(row.live_peak, 1000u + 200u + 5000u);
        ASSERT_EQ(row.footprint.size(), 2u);
        EXPECT_EQ(row.footprint[0], 6200u); // ideal: the live peak
        EXPECT_TRUE(row.heap.empty());      // no --heap
    }
}

TEST(CycleTable, OneBlockLeakedPerCycleShowsInEveryRow) {
    const ReplayResult r = run(reconnect_trace(5, true), {"ideal"});
    ASSERT_EQ(r.cycles.size(), 5u);
    for (unsigned i = 0; i < 5; ++i) {
        const CycleRow& row = r.cycles[i];
        EXPECT_EQ(row.leaked, 64u) << "cycle " << i + 1;
        // Each cycle's leak stays: the live bytes at the end drift up by 64.
        EXPECT_EQ(row.live_at_end, 1000u + 64u * (i + 1));
        EXPECT_EQ(row.live_peak, 1000u + 64u * i + 200u + 64u + 5000u);
    }
    EXPECT_EQ(r.leaked_bytes, 5u * 64u);
}

TEST(CycleTable, ConnectionsOpenTogetherFormOneCycle) {
    // Two cycles of two connections each: 1 and 2 set up before either is torn
    // down, then 3 and 4.
    TraceBuilder b;
    b.meta(trace::meta::kPointerSize, "4");
    b.connection(trace::kSharedConnection).phase(Phase::Setup);
    b.alloc(10, 0x1000);
    for (std::uint32_t first : {1u, 3u}) {
        const std::uint64_t base = 0x10000 * first;
        b.connection(first).phase(Phase::Setup);
        b.alloc(100, base);
        b.connection(first + 1).phase(Phase::Setup);
        b.alloc(300, base + 0x1000);
        b.connection(first).phase(Phase::Teardown);
        b.free(base);
        b.connection(first + 1).phase(Phase::Teardown);
        b.free(base + 0x1000);
    }
    b.connection(trace::kSharedConnection).phase(Phase::Teardown);
    b.free(0x1000);
    const ReplayResult r = run(b.finish(), {"ideal"});
    ASSERT_EQ(r.cycles.size(), 2u);
    EXPECT_EQ(r.cycles[0].first_connection, 1u);
    EXPECT_EQ(r.cycles[0].connections, 2u);
    EXPECT_EQ(r.cycles[0].live_peak, 410u);
    EXPECT_EQ(r.cycles[1].first_connection, 3u);
    EXPECT_EQ(r.cycles[1].connections, 2u);
    EXPECT_EQ(r.cycles[1].live_at_end, 10u);
}

TEST(CycleTable, HeapFiguresAtEachCyclesEnd) {
    // ideal on 7,000 bytes: 1,000 shared + 64 leaked per cycle stay.
    const ReplayResult r = run(reconnect_trace(3, true), {"ideal"}, 7000);
    ASSERT_EQ(r.cycles.size(), 3u);
    for (unsigned i = 0; i < 3; ++i) {
        ASSERT_EQ(r.cycles[i].heap.size(), 1u);
        EXPECT_EQ(r.cycles[i].heap[0].free_bytes, 7000u - 1000u - 64u * (i + 1));
    }
}

// allocations: #1 100 B, #2 200 B, then #1 freed, #3 300 B.
std::vector<unsigned char> three_allocations() {
    TraceBuilder b;
    b.meta(trace::meta::kPointerSize, "4");
    b.connection(trace::kSharedConnection).phase(Phase::Setup);
    b.alloc(100, 0x1000);
    b.connection(1).phase(Phase::Handshake);
    b.alloc(200, 0x2000);
    b.free(0x1000);
    b.alloc(300, 0x3000);
    return b.finish();
}

TEST(HeapVerdict, FitsWithTheLowestFiguresAndWhere) {
    const ReplayResult r = run(three_allocations(), {"ideal"}, 600);
    ASSERT_TRUE(r.models[0].heap.has_value());
    const HeapVerdict& v = *r.models[0].heap;
    EXPECT_TRUE(v.fits());
    EXPECT_EQ(v.heap_size, 600u);
    ASSERT_TRUE(v.lowest_free.has_value());
    EXPECT_EQ(v.lowest_free->figures.free_bytes, 100u); // 600 - 200 - 300
    EXPECT_EQ(v.lowest_free->allocation, 3u);
    EXPECT_EQ(v.lowest_free->size, 300u);
    EXPECT_EQ(v.lowest_free->at.connection, 1u);
    EXPECT_EQ(v.lowest_free->at.phase, Phase::Handshake);
    ASSERT_TRUE(v.smallest_largest_free_block.has_value());
    EXPECT_EQ(v.smallest_largest_free_block->figures.largest_free_block, 100u);
}

TEST(HeapVerdict, FailsAtTheFirstAllocationThatDoesNotFit) {
    // 450 bytes: #3 needs 300 with 250 free.
    const ReplayResult r = run(three_allocations(), {"ideal"}, 450);
    const HeapVerdict& v = *r.models[0].heap;
    ASSERT_FALSE(v.fits());
    EXPECT_EQ(v.first_failure->allocation, 3u);
    EXPECT_EQ(v.first_failure->size, 300u);
    EXPECT_EQ(v.first_failure->figures.free_bytes, 250u);
    EXPECT_EQ(v.first_failure->at.connection, 1u);
    EXPECT_FALSE(v.fragmentation());
    EXPECT_EQ(r.models[0].failure_count, 1u);
}

TEST(HeapVerdict, AHeapSmallerThanTheFirstAllocationFailsAtTheFirst) {
    const ReplayResult r = run(three_allocations(), {"ideal", "freertos-heap4", "umm"}, 64);
    for (const ModelRun& m : r.models) {
        ASSERT_TRUE(m.heap.has_value()) << m.name;
        ASSERT_FALSE(m.heap->fits()) << m.name;
        EXPECT_EQ(m.heap->first_failure->allocation, 1u) << m.name;
        EXPECT_FALSE(m.heap->lowest_free.has_value()) << m.name;
    }
}

TEST(HeapVerdict, FragmentationWhenBytesAreFreeButNoBlockServes) {
    // heap_4 (ILP32, 8-byte headers) on 400 bytes, pxEnd at 392: 100 wants 112
    // [0, 112); 200 wants 208 [112, 320), 72 left; freeing 100 leaves blocks
    // of 112 and 72: 184 free, and the 150-byte request wants 160.
    TraceBuilder b;
    b.meta(trace::meta::kPointerSize, "4");
    b.phase(Phase::Setup);
    b.alloc(100, 0x1000);
    b.alloc(200, 0x2000);
    b.free(0x1000);
    b.alloc(150, 0x3000);
    const ReplayResult r = run(b.finish(), {"freertos-heap4"}, 400);
    const HeapVerdict& v = *r.models[0].heap;
    ASSERT_FALSE(v.fits());
    EXPECT_EQ(v.first_failure->allocation, 3u);
    EXPECT_EQ(v.first_failure->figures.free_bytes, 184u);
    EXPECT_EQ(v.first_failure->figures.largest_free_block, 112u);
    EXPECT_EQ(v.first_failure->figures.largest_request, 104u);
    EXPECT_TRUE(v.fragmentation());
}

} // namespace
} // namespace tlsheap::replay
