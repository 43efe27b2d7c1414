#include "stack_table.h"

#include <gtest/gtest.h>

namespace tlsheap::recorder {
namespace {

TEST(StackTable, SameStackSameIdNewStackNewId) {
    StackTable t;
    const std::uintptr_t a[] = {1, 2, 3};
    const std::uintptr_t b[] = {1, 2, 4};
    const auto first = t.intern(a, 3);
    EXPECT_TRUE(first.is_new);
    EXPECT_EQ(first.id, 1u);
    const auto again = t.intern(a, 3);
    EXPECT_FALSE(again.is_new);
    EXPECT_EQ(again.id, 1u);
    const auto other = t.intern(b, 3);
    EXPECT_TRUE(other.is_new);
    EXPECT_EQ(other.id, 2u);
    EXPECT_EQ(t.intern(a, 2).id, 3u); // a prefix is a different stack
}

TEST(StackTable, KeepsIdsAcrossGrowth) {
    StackTable t;
    for (std::uintptr_t i = 0; i < 5000; ++i) {
        const std::uintptr_t frames[] = {i, i * 7};
        ASSERT_EQ(t.intern(frames, 2).id, i + 1);
    }
    for (std::uintptr_t i = 0; i < 5000; ++i) {
        const std::uintptr_t frames[] = {i, i * 7};
        const auto r = t.intern(frames, 2);
        ASSERT_FALSE(r.is_new);
        ASSERT_EQ(r.id, i + 1);
    }
}

} // namespace
} // namespace tlsheap::recorder
