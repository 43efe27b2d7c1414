// Gate thresholds: bytes or percent of the baseline, worked out by hand.
#include "analysis/gate_policy.h"
#include "tlsheap/user_error.h"

#include <gtest/gtest.h>

namespace tlsheap::analysis {
namespace {

TEST(GateThreshold, ZeroAllowsNoGrowthButAnyShrink) {
    const GateThreshold t = GateThreshold::parse("0");
    EXPECT_TRUE(t.allows(40000, 40000));
    EXPECT_TRUE(t.allows(40000, 1));
    EXPECT_FALSE(t.allows(40000, 40001));
}

TEST(GateThreshold, BytesAreInclusive) {
    const GateThreshold t = GateThreshold::parse("512");
    EXPECT_TRUE(t.allows(1000, 1512));
    EXPECT_FALSE(t.allows(1000, 1513));
}

TEST(GateThreshold, PercentOfTheBaseline) {
    const GateThreshold t = GateThreshold::parse("2%");
    EXPECT_TRUE(t.allows(50000, 51000)); // exactly 2 %
    EXPECT_FALSE(t.allows(50000, 51001));
    const GateThreshold half = GateThreshold::parse("0.5%");
    EXPECT_TRUE(half.allows(1000, 1005));
    EXPECT_FALSE(half.allows(1000, 1006));
    // Growth from nothing is never a percentage of the baseline.
    EXPECT_FALSE(t.allows(0, 1));
    EXPECT_TRUE(t.allows(0, 0));
}

TEST(GateThreshold, MalformedIsBadInput) {
    for (const char* text : {"", "2x", "-1", "1.5", "%", "2%%", "two"}) {
        try {
            GateThreshold::parse(text);
            ADD_FAILURE() << text << " was accepted";
        } catch (const UserError& e) {
            EXPECT_EQ(e.exit_code(), kExitBadInput) << text;
        }
    }
}

} // namespace
} // namespace tlsheap::analysis
