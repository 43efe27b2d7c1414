// The ideal model: footprint is the peak of live requested bytes.
#include "checked_model.h"

#include <gtest/gtest.h>

namespace tlsheap::replay::testing {
namespace {

TEST(IdealModel, FootprintIsTheLivePeak) {
    CheckedModel ideal("ideal");
    const std::uint64_t a = ideal.take(100);
    const std::uint64_t b = ideal.take(50);
    EXPECT_NE(a, b);
    ideal.release(a);
    ideal.take(30); // live 80, peak 150
    EXPECT_EQ(ideal->footprint(), 150u);
    EXPECT_EQ(ideal->used_bytes(), 80u);
    EXPECT_EQ(ideal->free_bytes_below_footprint(), 70u);
    EXPECT_EQ(ideal->largest_free_block_below_footprint(), 70u);
    EXPECT_EQ(ideal->min_pool_after_replay(), 150u);
    EXPECT_TRUE(ideal->placement_independent_of_pool_end());
}

TEST(IdealModel, PoolHoldsExactlyItsSizeInLiveBytes) {
    CheckedModel ideal("ideal", 4, 100);
    ideal.take(60);
    EXPECT_EQ(ideal.allocate(41), std::nullopt);
    ideal.take(40);
    EXPECT_EQ(ideal.allocate(1), std::nullopt);
}

TEST(IdealModel, HeapFiguresAreThePoolLessTheLiveBytes) {
    CheckedModel pool("ideal", 4, 100);
    pool.take(30);
    const HeapFigures f = pool->heap_figures();
    EXPECT_EQ(f.free_bytes, 70u);
    EXPECT_EQ(f.largest_free_block, 70u);
    EXPECT_EQ(f.largest_request, 70u);
    EXPECT_FALSE(pool.allocate(71).has_value());
    EXPECT_TRUE(pool.allocate(70).has_value());
}

} // namespace
} // namespace tlsheap::replay::testing
