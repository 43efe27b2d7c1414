// Dense indexes for things that come and go, each new one taking the lowest
// index not in use. Which index a thing gets then depends only on which are
// in use, not on the order earlier ones were given back: a repeated
// connection, met with the same live blocks, numbers its blocks as the one
// before did (the allocation stream's blocks, the ideal model's offsets).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tlsheap::replay {

class LowestFreeIndex {
  public:
    std::uint32_t take() {
        // The lowest word with a bit set: none below first_word_.
        for (; first_word_ < given_back_.size(); ++first_word_) {
            std::uint64_t& word = given_back_[first_word_];
            if (word != 0) {
                const auto bit = static_cast<unsigned>(std::countr_zero(word));
                word &= word - 1;
                --returned_;
                return static_cast<std::uint32_t>(first_word_ * 64 + bit);
            }
        }
        return next_++;
    }
    // `index` must be in use.
    void give_back(std::uint32_t index) {
        const std::size_t w = index / 64;
        if (w >= given_back_.size())
            given_back_.resize(w + 1, 0);
        given_back_[w] |= std::uint64_t{1} << (index % 64);
        first_word_ = std::min(first_word_, w);
        ++returned_;
    }

    // One more than the highest index ever taken.
    std::uint32_t end() const { return next_; }
    std::size_t in_use() const { return next_ - returned_; }

  private:
    std::uint32_t next_ = 0;
    // Bit i of word i / 64: index i was given back (all below next_); a
    // bit scan finds the lowest in a few words where a priority queue took
    // a logarithm of pushes and pops per event.
    std::vector<std::uint64_t> given_back_;
    std::size_t first_word_ = 0;
    std::size_t returned_ = 0;
};

} // namespace tlsheap::replay
