// The free blocks of a model, ordered by a key the model chooses (the address
// for an address-ordered free list, a list position for a list in list
// order), each with its size. It answers what a real allocator learns by
// walking its free list: the first block in key order that is at least n
// bytes (first fit), the first block from a key on (best fit, with the size
// in the key's high bits), the last block before a key (where an
// address-ordered insert goes), and the largest and total free size. The
// models keep their own free lists as the real allocators do; this index only
// replaces walks.
//
// Two forms, one active at a time. A handshake leaves a few dozen free blocks,
// where a sorted array scanned in order beats any tree; a long-lived heap can
// leave tens of thousands, where only a tree (free_block_treap.h) keeps each
// search O(log n). The index moves to the tree when the array passes
// kToTree entries and back when the tree drops below kToArray; the gap
// between the two keeps it from rebuilding on every operation near one
// threshold. Both forms give the same answers.
#pragma once

#include "free_block_treap.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tlsheap::replay {

class FreeBlockIndex {
  public:
    using Entry = FreeBlockTreap::Entry;

    static constexpr std::size_t kToTree = 256;
    static constexpr std::size_t kToArray = 64;

    // `key` must not be present.
    void insert(std::uint64_t key, std::uint32_t slot, std::uint64_t size) {
        if (in_tree_) {
            tree_.insert(key, slot, size);
            return;
        }
        array_.insert(lower_bound(key), Entry{key, slot, size});
        total_ += size;
        if (largest_known_)
            largest_ = std::max(largest_, size);
        if (array_.size() > kToTree)
            move_to_tree();
    }

    // `key` must be present.
    void erase(std::uint64_t key) {
        if (in_tree_) {
            tree_.erase(key);
            if (tree_.size() < kToArray)
                move_to_array();
            return;
        }
        const auto at = lower_bound(key);
        total_ -= at->size;
        forget_largest_if(at->size);
        array_.erase(at);
    }

    // The entry at `key` (present) now stands for `slot` with `size`.
    void update(std::uint64_t key, std::uint32_t slot, std::uint64_t size) {
        if (in_tree_) {
            tree_.update(key, slot, size);
            return;
        }
        const auto at = lower_bound(key);
        total_ += size - at->size;
        forget_largest_if(at->size);
        at->slot = slot;
        at->size = size;
        if (largest_known_)
            largest_ = std::max(largest_, size);
    }

    // The entry at `old_key` (present) now stands at `key` (absent unless the
    // same) for `slot` with `size`: a block that grew or shrank, or a split
    // remainder taking the block's place. One shift of the entries between
    // the two places instead of two of everything after them.
    void replace(std::uint64_t old_key, std::uint64_t key, std::uint32_t slot, std::uint64_t size) {
        if (key == old_key) {
            update(key, slot, size);
            return;
        }
        if (in_tree_) {
            tree_.erase(old_key);
            tree_.insert(key, slot, size);
            return;
        }
        const std::size_t from = lower_index(old_key);
        std::size_t to = lower_index(key);
        total_ += size - array_[from].size;
        forget_largest_if(array_[from].size);
        if (to > from) {
            --to; // the entries between move down into the old place
            std::copy(array_.begin() + static_cast<std::ptrdiff_t>(from + 1),
                      array_.begin() + static_cast<std::ptrdiff_t>(to + 1),
                      array_.begin() + static_cast<std::ptrdiff_t>(from));
        } else {
            std::copy_backward(array_.begin() + static_cast<std::ptrdiff_t>(to),
                               array_.begin() + static_cast<std::ptrdiff_t>(from),
                               array_.begin() + static_cast<std::ptrdiff_t>(from + 1));
        }
        array_[to] = Entry{key, slot, size};
        if (largest_known_)
            largest_ = std::max(largest_, size);
    }

    // The entry with the smallest key whose size is at least `size`, or none.
    std::optional<Entry> first_at_least(std::uint64_t size) const {
        if (in_tree_)
            return tree_.first_at_least(size);
        if (largest_known_ && largest_ < size)
            return std::nullopt;
        for (const Entry& e : array_) {
            ++array_visits_;
            if (e.size >= size)
                return e;
        }
        return std::nullopt;
    }

    // The entry with the smallest key not below `key`, or none.
    std::optional<Entry> first_from(std::uint64_t key) const {
        if (in_tree_)
            return tree_.first_from(key);
        const auto at = lower_bound(key);
        if (at == array_.end())
            return std::nullopt;
        return *at;
    }

    // The entry with the largest key below `key`, or none.
    std::optional<Entry> last_before(std::uint64_t key) const {
        if (in_tree_)
            return tree_.last_before(key);
        const auto at = lower_bound(key);
        if (at == array_.begin())
            return std::nullopt;
        return *(at - 1);
    }

    // The largest size among the entries other than the one at `key`.
    std::uint64_t largest_except(std::uint64_t key) const {
        if (in_tree_)
            return tree_.largest_except(key);
        const auto at = lower_bound(key);
        // Below the largest, the entry at `key` is not the one that sets it.
        if (at == array_.end() || at->key != key || at->size < largest())
            return largest();
        std::uint64_t result = 0;
        for (const Entry& e : array_) {
            ++array_visits_;
            if (e.key != key)
                result = std::max(result, e.size);
        }
        return result;
    }

    std::uint64_t largest() const {
        if (in_tree_)
            return tree_.largest();
        if (!largest_known_) {
            largest_ = 0;
            for (const Entry& e : array_) {
                ++array_visits_;
                largest_ = std::max(largest_, e.size);
            }
            largest_known_ = true;
        }
        return largest_;
    }
    std::uint64_t total() const { return in_tree_ ? tree_.total() : total_; }
    std::size_t size() const { return in_tree_ ? tree_.size() : array_.size(); }

    // Entries and tree nodes looked at by the searches above (binary searches
    // of the array not counted: O(log n) by construction): a test's measure
    // of work.
    std::uint64_t visits() const { return array_visits_ + tree_.visits(); }

    // For tests: which form is active.
    bool in_tree() const { return in_tree_; }

    template <class Visit>
    void for_each(Visit visit) const {
        if (in_tree_) {
            tree_.for_each(visit);
            return;
        }
        for (const Entry& e : array_)
            visit(e);
    }

    // For verify(): whether the index holds exactly the model's free list, in
    // its order. `next(slot)` gives the list's next slot (`end` after the
    // last), `expected(slot)` the entry the index must hold for it. Returns
    // the first slot where they part (`end` when the index holds more), or
    // nullopt when they agree.
    template <class Next, class Expected>
    std::optional<std::uint32_t> first_difference(std::uint32_t first, std::uint32_t end, Next next,
                                                  Expected expected) const {
        std::vector<Entry> indexed;
        indexed.reserve(size());
        for_each([&](const Entry& e) { indexed.push_back(e); });
        std::size_t i = 0;
        for (std::uint32_t slot = first; slot != end; slot = next(slot), ++i) {
            const Entry want = expected(slot);
            if (i >= indexed.size() || indexed[i].slot != want.slot || indexed[i].key != want.key ||
                indexed[i].size != want.size)
                return slot;
        }
        if (i != indexed.size())
            return end;
        return std::nullopt;
    }

  private:
    // The first entry whose key is not below `key`. Branch-free: the models'
    // keys arrive in no pattern a branch predictor could learn.
    std::size_t lower_index(std::uint64_t key) const {
        std::size_t n = array_.size();
        if (n == 0)
            return 0;
        const Entry* base = array_.data();
        while (n > 1) {
            const std::size_t half = n / 2;
            base = base[half].key < key ? base + half : base;
            n -= half;
        }
        return static_cast<std::size_t>(base - array_.data()) + (base->key < key);
    }
    std::vector<Entry>::iterator lower_bound(std::uint64_t key) {
        return array_.begin() + static_cast<std::ptrdiff_t>(lower_index(key));
    }
    std::vector<Entry>::const_iterator lower_bound(std::uint64_t key) const {
        return array_.begin() + static_cast<std::ptrdiff_t>(lower_index(key));
    }

    // Removing the entry that set the largest size leaves it unknown until asked.
    void forget_largest_if(std::uint64_t removed_size) {
        if (largest_known_ && removed_size >= largest_)
            largest_known_ = false;
    }

    // Each move costs O(n) array work (O(n log n) into the tree) and happens
    // only after O(n) operations since the last one, so it adds O(log n) per
    // operation at most.
    void move_to_tree() {
        for (const Entry& e : array_) {
            ++array_visits_;
            tree_.insert(e.key, e.slot, e.size);
        }
        array_.clear();
        in_tree_ = true;
    }
    void move_to_array() {
        array_.clear();
        tree_.for_each([&](const Entry& e) {
            ++array_visits_;
            array_.push_back(e);
        });
        tree_.clear();
        total_ = 0;
        for (const Entry& e : array_)
            total_ += e.size;
        largest_known_ = false;
        in_tree_ = false;
    }

    bool in_tree_ = false;
    std::vector<Entry> array_; // by key, while !in_tree_
    std::uint64_t total_ = 0;  // of the array's sizes
    mutable std::uint64_t largest_ = 0;
    mutable bool largest_known_ = true;
    FreeBlockTreap tree_;
    mutable std::uint64_t array_visits_ = 0;
};

} // namespace tlsheap::replay
