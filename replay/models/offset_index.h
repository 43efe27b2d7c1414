// Finds the block a model handed out from the offset it returned. Open
// addressing with linear probing and backward-shift deletion: no allocation per
// event once warm, memory proportional to the most blocks ever live at once.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tlsheap::replay {

class OffsetIndex {
  public:
    static constexpr std::uint32_t npos = UINT32_MAX;

    OffsetIndex() { resize(16); }

    // `offset` must not be present.
    void insert(std::uint64_t offset, std::uint32_t slot) {
        if ((count_ + 1) * 2 > entries_.size())
            resize(entries_.size() * 2);
        place(offset, slot);
        ++count_;
    }

    std::uint32_t find(std::uint64_t offset) const {
        for (std::size_t i = home(offset);; i = (i + 1) & mask_) {
            const Entry& entry = entries_[i];
            if (entry.key == offset)
                return entry.slot;
            if (entry.key == kEmpty)
                return npos;
        }
    }

    // Removes `offset` and returns its slot, or npos when it is absent.
    std::uint32_t erase(std::uint64_t offset) {
        std::size_t hole = home(offset);
        for (;; hole = (hole + 1) & mask_) {
            if (entries_[hole].key == offset)
                break;
            if (entries_[hole].key == kEmpty)
                return npos;
        }
        const std::uint32_t slot = entries_[hole].slot;
        // Pull later members of the probe run back so no lookup stops early.
        for (std::size_t next = (hole + 1) & mask_; entries_[next].key != kEmpty;
             next = (next + 1) & mask_) {
            const std::size_t want = home(entries_[next].key);
            const bool reachable_from_hole = ((next - want) & mask_) >= ((next - hole) & mask_);
            if (reachable_from_hole) {
                entries_[hole] = entries_[next];
                hole = next;
            }
        }
        entries_[hole].key = kEmpty;
        --count_;
        return slot;
    }

    std::size_t size() const { return count_; }

    template <class Visit>
    void for_each(Visit visit) const {
        for (const Entry& entry : entries_)
            if (entry.key != kEmpty)
                visit(entry.key, entry.slot);
    }

  private:
    struct Entry {
        std::uint64_t key;
        std::uint32_t slot;
    };
    // No model hands out this offset: pools end far below it.
    static constexpr std::uint64_t kEmpty = UINT64_MAX;

    std::size_t home(std::uint64_t key) const {
        // Fibonacci hashing spreads offsets that share their low bits.
        return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
    }

    void place(std::uint64_t key, std::uint32_t slot) {
        std::size_t i = home(key);
        while (entries_[i].key != kEmpty)
            i = (i + 1) & mask_;
        entries_[i] = Entry{key, slot};
    }

    void resize(std::size_t capacity) {
        std::vector<Entry> old(capacity, Entry{kEmpty, npos});
        old.swap(entries_);
        mask_ = capacity - 1;
        shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
        for (const Entry& entry : old)
            if (entry.key != kEmpty)
                place(entry.key, entry.slot);
    }

    std::vector<Entry> entries_;
    std::size_t mask_ = 0;
    unsigned shift_ = 64;
    std::size_t count_ = 0;
};

} // namespace tlsheap::replay
