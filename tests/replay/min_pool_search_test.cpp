// find_min_pools on hand-built traces: the smallest pool per model, worked out
// by hand from each model's rules (docs/models.md), checked by replaying the
// trace at that pool (it runs) and one pool step below (it fails).
// ILP32 figures (pointer_size 4): mbedtls-pool header H = 32, blocks rounded
// to 4, a split needs H + 4 spare bytes; heap_4 header 8, alignment 8;
// umm blocks of 8 bytes, blocks(n) = ceil((n + 4) / 8), block 0 and the last
// block are the heap's own.
#include "tlsheap/min_pool.h"
#include "trace_builder.h"
#include "transforms/transform_trace_builder.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace tlsheap::replay {
namespace {

using tlsheap::testing::OwnedTraceSource;
using tlsheap::testing::TraceBuilder;

SourceFactory source_of(const std::vector<unsigned char>& bytes) {
    return [bytes] { return OwnedTraceSource::from_bytes(bytes); };
}

MinPoolResult min_pool(const std::vector<unsigned char>& bytes, const std::string& model) {
    const auto results = find_min_pools(source_of(bytes), {ModelSpec::parse(model)});
    EXPECT_EQ(results.size(), 1u);
    return results.front();
}

// An independent replay at a fixed pool: the failures it saw.
ModelRun replay_at(const std::vector<unsigned char>& bytes, const std::string& model,
                   std::uint64_t pool) {
    auto reader = trace::TraceReader::from_bytes(bytes);
    ReplayOptions options;
    options.models = {ModelSpec::parse(model)};
    options.pool_size = pool;
    options.verify_every_event = true;
    ReplayResult r = replay_trace(*reader, options);
    EXPECT_TRUE(r.models.front().invariant_violation.empty())
        << model << " at " << pool << ": " << r.models.front().invariant_violation;
    return r.models.front();
}

bool runs_at(const std::vector<unsigned char>& bytes, const std::string& model,
             std::uint64_t pool) {
    return replay_at(bytes, model, pool).failure_count == 0;
}

// 100 and 50 bytes live, the 100 freed, then 120: the live peak is 50 + 120 = 170.
std::vector<unsigned char> ideal_trace() {
    TraceBuilder b;
    b.meta("pointer_size", "4");
    b.alloc(100, 0x1000);
    b.alloc(50, 0x2000);
    b.free(0x1000);
    b.alloc(120, 0x3000); // seq 4
    return b.finish();
}

// 100 then 8 bytes, both live to the end.
std::vector<unsigned char> two_blocks_trace() {
    TraceBuilder b;
    b.meta("pointer_size", "4");
    b.alloc(100, 0x1000);
    b.alloc(8, 0x2000); // seq 2
    return b.finish();
}

TEST(MinPoolSearch, IdealNeedsExactlyTheLivePeak) {
    const auto bytes = ideal_trace();
    const MinPoolResult m = min_pool(bytes, "ideal");
    EXPECT_EQ(m.model, "ideal");
    EXPECT_EQ(m.live_peak, 170u);
    EXPECT_EQ(m.min_pool, 170u);
    EXPECT_EQ(m.method, "one pass");
    EXPECT_EQ(m.granularity, 1u);
    EXPECT_TRUE(m.runs_at_min_pool);
    ASSERT_TRUE(m.fails_below.has_value());
    EXPECT_EQ(m.fails_below->at.seq, 4u); // 50 live + 120 > 169
    EXPECT_EQ(m.fails_below->size, 120u);

    EXPECT_TRUE(runs_at(bytes, "ideal", 170));
    EXPECT_FALSE(runs_at(bytes, "ideal", 169));
}

TEST(MinPoolSearch, MbedtlsPoolNeedNotHoldTheLastSplitHeader) {
    // 100 bytes: header 0, ends at 132. 8 bytes: header 132, ends at 172.
    // With len 172 the second block is the whole rest of the pool (172 - 132
    // - 32 = 8): no room for a further header is needed.
    const auto bytes = two_blocks_trace();
    const MinPoolResult m = min_pool(bytes, "mbedtls-pool");
    EXPECT_EQ(m.min_pool, 172u);
    EXPECT_EQ(m.placement_bound, 172u);
    EXPECT_EQ(m.method, "one pass");
    EXPECT_EQ(m.granularity, 4u); // gcd(H, alignment)
    EXPECT_EQ(m.live_peak, 108u);
    EXPECT_TRUE(m.runs_at_min_pool);
    ASSERT_TRUE(m.fails_below.has_value());
    EXPECT_EQ(m.fails_below->at.seq, 2u);
    EXPECT_EQ(m.fails_below->size, 8u);

    EXPECT_TRUE(runs_at(bytes, "mbedtls-pool", 172));
    EXPECT_FALSE(runs_at(bytes, "mbedtls-pool", 168));
    EXPECT_FALSE(runs_at(bytes, "mbedtls-pool", 171)); // 7 bytes left for the 8
}

TEST(MinPoolSearch, MbedtlsPoolOnLp64UsesTheWiderHeader) {
    // pointer_size 8: H = 64. 100: header 0, ends at 164; 8: header 164, ends at 236.
    TraceBuilder b;
    b.meta("pointer_size", "8");
    b.alloc(100, 0x1000);
    b.alloc(8, 0x2000);
    const auto bytes = b.finish();
    const MinPoolResult m = min_pool(bytes, "mbedtls-pool");
    EXPECT_EQ(m.min_pool, 236u);
    EXPECT_TRUE(runs_at(bytes, "mbedtls-pool", 236));
    EXPECT_FALSE(runs_at(bytes, "mbedtls-pool", 232));
}

TEST(MinPoolSearch, FreertosHeap4KeepsTheEndMarkerAboveASplit) {
    // 100 wants 112 ([0, 112)), 8 wants 16 ([112, 128)). pxEnd at 128 would
    // hand the first request the whole heap (128 - 112 = 16 is not more than
    // the 16-byte minimum block); pxEnd at 136 and its 8-byte header: 144.
    const auto bytes = two_blocks_trace();
    const MinPoolResult m = min_pool(bytes, "freertos-heap4");
    EXPECT_EQ(m.min_pool, 144u);
    EXPECT_EQ(m.method, "one pass");
    EXPECT_EQ(m.granularity, 8u);
    EXPECT_TRUE(m.runs_at_min_pool);
    ASSERT_TRUE(m.fails_below.has_value());
    EXPECT_EQ(m.fails_below->at.seq, 2u);

    EXPECT_TRUE(runs_at(bytes, "freertos-heap4", 144));
    EXPECT_FALSE(runs_at(bytes, "freertos-heap4", 136));

    // ucHeap at 4 mod 8: blocks [4, 116) and [116, 132), pxEnd at 140 (4 +
    // aligned_down(148 - 4 - 8)); at 147, pxEnd is 4 + 128 = 132 and the first
    // request takes the whole heap again. 4 bytes more than aligned.
    const MinPoolResult skewed = min_pool(bytes, "freertos-heap4:start=4");
    EXPECT_EQ(skewed.min_pool, 148u);
    EXPECT_TRUE(runs_at(bytes, "freertos-heap4:start=4", 148));
    EXPECT_FALSE(runs_at(bytes, "freertos-heap4:start=4", 147));
}

TEST(MinPoolSearch, UmmBisectsOverWholeBlocks) {
    // 44 bytes take 6 blocks, 20 take 3: with block 0 and the end block the
    // heap needs 11 blocks = 88 bytes; 80 bytes (10 blocks) leave 8.
    TraceBuilder b;
    b.meta("pointer_size", "4");
    b.alloc(44, 0x1000);
    b.alloc(20, 0x2000); // seq 2
    const auto bytes = b.finish();
    const MinPoolResult m = min_pool(bytes, "umm");
    EXPECT_EQ(m.min_pool, 88u);
    EXPECT_EQ(m.method, "search");
    EXPECT_EQ(m.granularity, 8u);
    EXPECT_TRUE(m.runs_at_min_pool);
    ASSERT_TRUE(m.fails_below.has_value());
    EXPECT_EQ(m.fails_below->at.seq, 2u);
    EXPECT_EQ(m.fails_below->size, 20u);

    EXPECT_TRUE(runs_at(bytes, "umm", 88));
    EXPECT_TRUE(runs_at(bytes, "umm", 95)); // still 11 blocks
    EXPECT_FALSE(runs_at(bytes, "umm", 87));
}

TEST(MinPoolSearch, EspTlsfSearchFindsARunningBoundary) {
    const auto bytes = two_blocks_trace();
    const MinPoolResult m = min_pool(bytes, "esp-tlsf");
    EXPECT_EQ(m.method, "search");
    EXPECT_EQ(m.granularity, 4u);
    EXPECT_TRUE(m.runs_at_min_pool);
    ASSERT_TRUE(m.fails_below.has_value());
    // 20-byte heap header and the control block come first: more than the
    // 108 + 2 * 4 bytes the blocks themselves take.
    EXPECT_GT(m.min_pool, 116u);
    EXPECT_TRUE(runs_at(bytes, "esp-tlsf", m.min_pool));
    EXPECT_FALSE(runs_at(bytes, "esp-tlsf", m.min_pool - 4));
}

// First fit is not monotonic in the pool size (min_pool.h): the answer is the
// smallest pool from which every larger pool runs, not the smallest that runs.
//   a 200: header 0, ends at 232; g 4: header 232, ends at 268; X 100 from the
//   tail (header 268); free a, free X; then 16 and 200.
// With len in [400, 436) the tail (len - 300 bytes) leaves less than H + 4
// beside X, so X takes it whole; freed, X has no free neighbour and goes to
// the head of the list: the 16 lands in X and the 200 in a. From 436 X is
// split; freed, X joins its remainder and takes the remainder's place after
// a: the 16 splits a (152 left) and the 200 needs X + remainder = len - 300
// >= 200, so len >= 500.
std::vector<unsigned char> non_monotonic_trace() {
    TraceBuilder b;
    b.meta("pointer_size", "4");
    b.alloc(200, 0x1000); // a
    b.alloc(4, 0x2000);   // g
    b.alloc(100, 0x3000); // X
    b.free(0x1000);
    b.free(0x3000);
    b.alloc(16, 0x4000);
    b.alloc(200, 0x5000); // seq 7
    return b.finish();
}

TEST(MinPoolSearch, FirstFitAnswerIsTheSizeFromWhichEveryLargerPoolRuns) {
    const auto bytes = non_monotonic_trace();
    EXPECT_FALSE(runs_at(bytes, "mbedtls-pool", 396)); // X does not fit
    EXPECT_TRUE(runs_at(bytes, "mbedtls-pool", 400));
    EXPECT_TRUE(runs_at(bytes, "mbedtls-pool", 432));
    EXPECT_FALSE(runs_at(bytes, "mbedtls-pool", 436));
    EXPECT_FALSE(runs_at(bytes, "mbedtls-pool", 496));
    EXPECT_TRUE(runs_at(bytes, "mbedtls-pool", 500));

    const MinPoolResult m = min_pool(bytes, "mbedtls-pool");
    EXPECT_EQ(m.method, "one pass");
    EXPECT_EQ(m.placement_bound, 500u);
    EXPECT_EQ(m.min_pool, 500u);
    EXPECT_TRUE(m.runs_at_min_pool);
    ASSERT_TRUE(m.fails_below.has_value());
    EXPECT_EQ(m.fails_below->at.seq, 7u);
    EXPECT_EQ(m.fails_below->size, 200u);
}

TEST(MinPoolSearch, EmptyTraceNeedsNoPool) {
    TraceBuilder b;
    b.meta("pointer_size", "4");
    const auto bytes = b.finish();
    const auto results = find_min_pools(
        source_of(bytes), {ModelSpec::parse("ideal"), ModelSpec::parse("freertos-heap4")});
    ASSERT_EQ(results.size(), 2u);
    for (const MinPoolResult& m : results) {
        EXPECT_EQ(m.live_peak, 0u) << m.model;
        EXPECT_TRUE(m.runs_at_min_pool) << m.model;
        EXPECT_FALSE(m.fails_below.has_value()) << m.model;
    }
    EXPECT_EQ(results[0].min_pool, 0u);
}

TEST(MinPoolSearch, OneResultPerModelInOrderAndFromAFile) {
    const auto bytes = two_blocks_trace();
    const std::filesystem::path file = std::filesystem::temp_directory_path() /
                                       ("tlsheap-minpool-" + std::to_string(::getpid()) + ".trace");
    {
        std::ofstream out(file, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
    }
    const std::vector<ModelSpec> models = {ModelSpec::parse("freertos-heap4"),
                                           ModelSpec::parse("mbedtls-pool")};
    const auto from_file = find_min_pools(file.string(), models);
    std::filesystem::remove(file);
    ASSERT_EQ(from_file.size(), 2u);
    EXPECT_EQ(from_file[0].model, "freertos-heap4");
    EXPECT_EQ(from_file[0].min_pool, 144u);
    EXPECT_EQ(from_file[1].model, "mbedtls-pool");
    EXPECT_EQ(from_file[1].min_pool, 172u);
}

TEST(MinPoolSearch, UnreadableTraceThrows) {
    EXPECT_THROW(find_min_pools("/nonexistent/tlsheap.trace", {ModelSpec::parse("ideal")}),
                 trace::TraceError);
}

} // namespace
} // namespace tlsheap::replay
