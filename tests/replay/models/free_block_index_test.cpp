// FreeBlockIndex answers alike in both its forms (the sorted array of a few
// free blocks, the treap of many), across the moves between them, and moves
// only past its thresholds, so a model hovering near one does not rebuild on
// every operation.
#include "free_block_index.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <iterator>
#include <map>
#include <optional>
#include <random>

namespace tlsheap::replay {
namespace {

struct Value {
    std::uint32_t slot;
    std::uint64_t size;
};
using Reference = std::map<std::uint64_t, Value>;

std::optional<FreeBlockIndex::Entry> entry(Reference::const_iterator it, const Reference& ref) {
    if (it == ref.end())
        return std::nullopt;
    return FreeBlockIndex::Entry{it->first, it->second.slot, it->second.size};
}

void expect_same(std::optional<FreeBlockIndex::Entry> got,
                 std::optional<FreeBlockIndex::Entry> want, const char* what) {
    ASSERT_EQ(got.has_value(), want.has_value()) << what;
    if (got) {
        EXPECT_EQ(got->key, want->key) << what;
        EXPECT_EQ(got->slot, want->slot) << what;
        EXPECT_EQ(got->size, want->size) << what;
    }
}

// Every answer of `index` against a walk over `ref`, at keys and sizes `rng` picks.
void expect_answers_of(const FreeBlockIndex& index, const Reference& ref, std::mt19937_64& rng) {
    ASSERT_EQ(index.size(), ref.size());
    std::uint64_t total = 0, largest = 0;
    for (const auto& [key, value] : ref) {
        total += value.size;
        largest = std::max(largest, value.size);
    }
    EXPECT_EQ(index.total(), total);
    EXPECT_EQ(index.largest(), largest);
    auto it = ref.begin();
    bool in_order = true;
    index.for_each([&](const FreeBlockIndex::Entry& e) {
        in_order = in_order && it != ref.end() && e.key == it->first && e.slot == it->second.slot &&
                   e.size == it->second.size;
        if (it != ref.end())
            ++it;
    });
    EXPECT_TRUE(in_order && it == ref.end());

    for (int probe = 0; probe < 4; ++probe) {
        const std::uint64_t size = rng() % 1100;
        auto fit = ref.begin();
        while (fit != ref.end() && fit->second.size < size)
            ++fit;
        expect_same(index.first_at_least(size), entry(fit, ref), "first_at_least");

        const std::uint64_t key = rng() % 5000;
        expect_same(index.first_from(key), entry(ref.lower_bound(key), ref), "first_from");
        const auto after = ref.lower_bound(key);
        expect_same(index.last_before(key),
                    after == ref.begin() ? std::nullopt : entry(std::prev(after), ref),
                    "last_before");
    }
    if (!ref.empty()) {
        auto except = ref.begin();
        std::advance(except, static_cast<long>(rng() % ref.size()));
        std::uint64_t largest_other = 0;
        for (const auto& [key, value] : ref)
            if (key != except->first)
                largest_other = std::max(largest_other, value.size);
        EXPECT_EQ(index.largest_except(except->first), largest_other);
    }
}

// Random inserts, erases, updates and replacements, the free count swinging from a handful
// past kToTree and back below kToArray several times.
TEST(FreeBlockIndex, BothFormsAnswerAsAWalkOverTheBlocks) {
    std::mt19937_64 rng(15);
    FreeBlockIndex index;
    Reference ref;
    unsigned moves = 0;
    bool was_in_tree = false;
    for (int swing = 0; swing < 6; ++swing) {
        const bool growing = swing % 2 == 0;
        const std::size_t goal = growing ? FreeBlockIndex::kToTree + 60 : 10;
        while (growing ? ref.size() < goal : ref.size() > goal) {
            const unsigned pick = static_cast<unsigned>(rng() % 10);
            const std::uint64_t key = rng() % 5000;
            const auto slot = static_cast<std::uint32_t>(rng());
            const std::uint64_t size = rng() % 1000 + 1;
            const bool present = ref.contains(key);
            if (pick < 2 && present) {
                index.update(key, slot, size);
                ref[key] = Value{slot, size};
            } else if (pick == 2 && !present && !ref.empty()) {
                // Moved to a new key, either way, or shrunk or grown in place.
                auto moved = ref.lower_bound(key);
                if (moved == ref.end())
                    moved = ref.begin();
                const std::uint64_t new_key = rng() % 2 ? key : moved->first;
                index.replace(moved->first, new_key, slot, size);
                ref.erase(moved);
                ref[new_key] = Value{slot, size};
            } else if ((pick < 7) == growing && !present) {
                index.insert(key, slot, size);
                ref[key] = Value{slot, size};
            } else if (!ref.empty()) {
                auto victim = ref.lower_bound(key);
                if (victim == ref.end())
                    victim = ref.begin();
                index.erase(victim->first);
                ref.erase(victim);
            }
            ASSERT_NO_FATAL_FAILURE(expect_answers_of(index, ref, rng));
            moves += index.in_tree() != was_in_tree;
            was_in_tree = index.in_tree();
        }
    }
    EXPECT_EQ(moves, 6u); // to the tree and back on each of the three swings
}

TEST(FreeBlockIndex, MovesToTheTreePastItsUpperThresholdAndBackBelowItsLowerOne) {
    FreeBlockIndex index;
    std::uint64_t key = 0;
    while (index.size() < FreeBlockIndex::kToTree)
        index.insert(key++, 0, 8);
    EXPECT_FALSE(index.in_tree());
    index.insert(key++, 0, 8);
    EXPECT_TRUE(index.in_tree());
    // Hovering at the threshold the tree stays.
    index.erase(--key);
    index.insert(key++, 0, 8);
    index.erase(--key);
    EXPECT_TRUE(index.in_tree());
    while (index.size() > FreeBlockIndex::kToArray)
        index.erase(--key);
    EXPECT_TRUE(index.in_tree());
    index.erase(--key);
    EXPECT_FALSE(index.in_tree());
    EXPECT_EQ(index.size(), FreeBlockIndex::kToArray - 1);
    EXPECT_EQ(index.total(), 8 * (FreeBlockIndex::kToArray - 1));
    EXPECT_EQ(index.largest(), 8u);
}

} // namespace
} // namespace tlsheap::replay
