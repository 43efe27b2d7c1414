// For first-fit models replayed with an unbounded pool: collects what a finite
// pool's end must satisfy for the same trace to be served block for block the
// same way, and answers the smallest such end.
//
// Every block carved from the tail must fit below the end (reach). Some ends
// would make the allocator hand the tail block out whole, which is harmless
// unless something later depends on the remainder it did not split off; the
// model then forbids that range of ends. Only ranges reaching above the
// highest reach matter, so few are ever kept.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace tlsheap::replay {

class PoolEndTracker {
  public:
    // The pool must end at or after `end`.
    void reach(std::uint64_t end) {
        if (end <= required_)
            return;
        required_ = end;
        std::erase_if(forbidden_, [&](const Range& range) { return range.end <= required_; });
    }

    // A pool ending in [begin, end) would not replay the same way.
    void forbid(std::uint64_t begin, std::uint64_t end) {
        if (end <= required_)
            return;
        for (const Range& range : forbidden_)
            if (range.begin == begin && range.end == end)
                return;
        forbidden_.push_back(Range{begin, end});
    }

    // Smallest end at or after every reach and outside every forbidden range;
    // 0 when nothing was reached.
    std::uint64_t smallest() const { return smallest_from(required_); }

    // Smallest end at or after `start` outside every forbidden range.
    std::uint64_t smallest_from(std::uint64_t start) const {
        std::uint64_t end = start;
        for (bool moved = true; moved;) {
            moved = false;
            for (const Range& range : forbidden_)
                if (range.begin <= end && end < range.end) {
                    end = range.end;
                    moved = true;
                }
        }
        return end;
    }

    std::uint64_t required() const { return required_; }

    // For AllocatorModel::append_state: the reach and the forbidden ranges,
    // in order of their ends (the order they were found in changes nothing).
    void append_state(std::vector<std::uint64_t>& out) const {
        std::vector<Range> ranges = forbidden_;
        std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
            return a.end != b.end ? a.end < b.end : a.begin < b.begin;
        });
        out.push_back(required_);
        out.push_back(ranges.size());
        for (const Range& range : ranges) {
            out.push_back(range.begin);
            out.push_back(range.end);
        }
    }

  private:
    struct Range {
        std::uint64_t begin;
        std::uint64_t end;
    };
    std::uint64_t required_ = 0;
    std::vector<Range> forbidden_;
};

} // namespace tlsheap::replay
