// Dense indexes for things that come and go, each new one taking the lowest
// index not in use. Which index a thing gets then depends only on which are
// in use, not on the order earlier ones were given back: a repeated
// connection, met with the same live blocks, numbers its blocks as the one
// before did (the allocation stream's blocks, the ideal model's offsets).
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace tlsheap::replay {

class LowestFreeIndex {
  public:
    std::uint32_t take() {
        if (returned_.empty())
            return next_++;
        const std::uint32_t index = returned_.top();
        returned_.pop();
        return index;
    }
    // `index` must be in use.
    void give_back(std::uint32_t index) { returned_.push(index); }

    // One more than the highest index ever taken.
    std::uint32_t end() const { return next_; }
    std::size_t in_use() const { return next_ - returned_.size(); }

  private:
    std::uint32_t next_ = 0;
    // Given back, all below next_; the lowest on top.
    std::priority_queue<std::uint32_t, std::vector<std::uint32_t>, std::greater<>> returned_;
};

} // namespace tlsheap::replay
