#include "live_allocation_table.h"

#include <gtest/gtest.h>
#include <map>
#include <random>

namespace tlsheap::recorder {
namespace {

TEST(LiveAllocationTable, MatchesAReferenceMapUnderRandomChurn) {
    LiveAllocationTable table;
    std::map<std::uintptr_t, std::uint64_t> reference;
    std::mt19937_64 rng(7);
    std::uint64_t seq = 0;
    for (int i = 0; i < 200000; ++i) {
        // Few distinct addresses so that inserts, removals and probe chains collide a lot.
        const std::uintptr_t address = 16 * (1 + rng() % 3000);
        if (rng() % 2 == 0 && reference.count(address) == 0) {
            table.insert(address, ++seq);
            reference[address] = seq;
        } else {
            const auto it = reference.find(address);
            const std::uint64_t expected = it == reference.end() ? 0 : it->second;
            ASSERT_EQ(table.take(address), expected) << "iteration " << i;
            if (it != reference.end()) {
                reference.erase(it);
            }
        }
        ASSERT_EQ(table.size(), reference.size());
    }
    for (const auto& [address, s] : reference) {
        EXPECT_EQ(table.find(address), s);
    }
}

TEST(LiveAllocationTable, UnknownAddressIsZero) {
    LiveAllocationTable table;
    table.insert(0x1000, 5);
    EXPECT_EQ(table.take(0x2000), 0u);
    EXPECT_EQ(table.take(0x1000), 5u);
    EXPECT_EQ(table.take(0x1000), 0u); // a second free finds nothing
}

} // namespace
} // namespace tlsheap::recorder
