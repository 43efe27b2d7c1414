// The blocks alive during a replay, keyed by the sequence number of the
// allocation that made them. Open addressing over a slab: lookups and
// removals allocate nothing, and memory follows the number of live blocks,
// never the length of the trace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tlsheap::trace {

template <typename Value>
class LiveBlockTable {
  public:
    // Inserts (seq must not be live) and returns the stored value, which the
    // caller sets.
    Value& insert(std::uint64_t seq) {
        if ((count_ + 1) * 2 > slots_.size()) {
            grow();
        }
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = home(seq);
        while (slots_[i].seq != 0) {
            i = (i + 1) & mask;
        }
        slots_[i].seq = seq;
        ++count_;
        return slots_[i].value;
    }

    const Value* find(std::uint64_t seq) const {
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = home(seq);; i = (i + 1) & mask) {
            if (slots_[i].seq == seq) {
                return &slots_[i].value;
            }
            if (slots_[i].seq == 0) {
                return nullptr;
            }
        }
    }

    // Removes seq if live; returns false when it was not.
    bool erase(std::uint64_t seq, Value* removed = nullptr) {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = home(seq);
        while (slots_[i].seq != seq) {
            if (slots_[i].seq == 0) {
                return false;
            }
            i = (i + 1) & mask;
        }
        if (removed != nullptr) {
            *removed = slots_[i].value;
        }
        std::size_t hole = i;
        for (std::size_t j = (i + 1) & mask; slots_[j].seq != 0; j = (j + 1) & mask) {
            const std::size_t want = home(slots_[j].seq);
            const bool stays = hole <= j ? (hole < want && want <= j) : (hole < want || want <= j);
            if (!stays) {
                slots_[hole] = slots_[j];
                hole = j;
            }
        }
        slots_[hole].seq = 0;
        --count_;
        return true;
    }

    std::size_t size() const { return count_; }

    template <typename F>
    void for_each(F f) const {
        for (const Slot& s : slots_) {
            if (s.seq != 0) {
                f(s.seq, s.value);
            }
        }
    }

  private:
    struct Slot {
        std::uint64_t seq = 0; // 0: empty (sequence numbers start at 1)
        Value value{};
    };

    std::size_t home(std::uint64_t seq) const {
        std::uint64_t h = seq * 0x9e3779b97f4a7c15ull;
        return static_cast<std::size_t>(h >> 20) & (slots_.size() - 1);
    }

    void grow() {
        std::vector<Slot> old(slots_.size() * 2);
        old.swap(slots_);
        count_ = 0;
        for (const Slot& s : old) {
            if (s.seq != 0) {
                insert(s.seq) = s.value;
            }
        }
    }

    std::vector<Slot> slots_ = std::vector<Slot>(256);
    std::size_t count_ = 0;
};

} // namespace tlsheap::trace
