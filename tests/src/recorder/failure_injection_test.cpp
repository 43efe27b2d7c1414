// The recorder's out-of-memory injection: which call fails, and the blocks
// it follows to their free; and the options that ask for it.
#include "failure_injection.h"
#include "parse_recorder_arguments.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace tlsheap::recorder {
namespace {

TEST(FailureInjection, OnlyTheArmedCallFailsAndLiveBlocksAreTheUnfreedOnes) {
    FailureInjection& f = FailureInjection::instance();
    f.arm(3);
    int a = 0, b = 0, d = 0;
    EXPECT_FALSE(f.fail_this(1, 16));
    f.allocated(&a, 1, 16);
    EXPECT_FALSE(f.fail_this(2, 8));
    f.allocated(&b, 2, 8);
    EXPECT_FALSE(f.injected());
    EXPECT_TRUE(f.fail_this(4, 100)); // call 3
    EXPECT_TRUE(f.injected());
    EXPECT_EQ(f.requested_bytes(), 400u);
    EXPECT_EQ(f.failed_call(), 3u);
    EXPECT_FALSE(f.fail_this(1, 24)); // call 4
    f.allocated(&d, 1, 24);
    f.freed(&a);
    f.freed(nullptr);
    const auto live = f.live_blocks();
    ASSERT_EQ(live.size(), 2u);
    EXPECT_EQ(live[0].ordinal, 2u);
    EXPECT_EQ(live[0].bytes, 16u);
    EXPECT_EQ(live[1].ordinal, 4u);
    EXPECT_EQ(live[1].bytes, 24u);
    f.disarm();
    EXPECT_FALSE(f.armed());
}

// On a real pool nothing is failed on purpose: the first call the pool
// refuses is the failed one.
TEST(FailureInjection, FollowingOnlyNotesTheFirstCallTheAllocatorRefused) {
    FailureInjection& f = FailureInjection::instance();
    f.arm(0);
    EXPECT_TRUE(f.armed());
    EXPECT_TRUE(f.live_blocks().empty());
    int a = 0;
    EXPECT_FALSE(f.fail_this(1, 16));
    f.allocated(&a, 1, 16);
    EXPECT_FALSE(f.fail_this(1, 4000));
    f.allocated(nullptr, 1, 4000);
    EXPECT_FALSE(f.fail_this(1, 8000));
    f.allocated(nullptr, 1, 8000);
    EXPECT_FALSE(f.injected());
    EXPECT_EQ(f.failed_call(), 2u);
    EXPECT_EQ(f.requested_bytes(), 4000u);
    EXPECT_EQ(f.live_blocks().size(), 1u);
    f.disarm();
}

TEST(FailureInjection, OverflowingRequestIsRecordedAsAllOnes) {
    FailureInjection& f = FailureInjection::instance();
    f.arm(1);
    EXPECT_TRUE(f.fail_this(SIZE_MAX, 2));
    EXPECT_EQ(f.requested_bytes(), UINT64_MAX);
    f.disarm();
}

TEST(FailureInjection, RangeOptionIsParsedAndCheckedAgainstTheMode) {
    RecorderOptions o;
    std::string error;
    ASSERT_TRUE(parse({"--connect", "127.0.0.1:1", "--fail-allocations", "3-40/2"}, o, error))
        << error;
    EXPECT_EQ(o.sweep.fail_first, 3u);
    EXPECT_EQ(o.sweep.fail_last, 40u);
    EXPECT_EQ(o.sweep.fail_step, 2u);
    RecorderOptions pools;
    ASSERT_TRUE(parse({"--connect", "127.0.0.1:1", "--pool-sweep", "4000-128/8"}, pools, error))
        << error;
    EXPECT_EQ(pools.sweep.pool_high, 4000u);
    EXPECT_EQ(pools.sweep.pool_low, 128u);
    EXPECT_EQ(pools.sweep.pool_step, 8u);
    for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
             {"--connect", "h:1", "--fail-allocations", "0-4"},
             {"--connect", "h:1", "--fail-allocations", "5-4"},
             {"--connect", "h:1", "--fail-allocations", "1-4/0"},
             {"--connect", "h:1", "--fail-allocations", "1-x"},
             {"--connect", "h:1", "--fail-allocations", "1-4", "--trace", "t"},
             {"--mode", "server", "--fail-allocations", "1-4"},
             {"--connect", "h:1", "--fork-runs"}}) {
        RecorderOptions r;
        EXPECT_FALSE(parse(bad, r, error)) << bad.back();
        EXPECT_FALSE(error.empty());
    }
}

} // namespace
} // namespace tlsheap::recorder
