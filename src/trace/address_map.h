// A flat open-addressing map from heap address to a sequence number, for
// bookkeeping on the replay's hot path without a node allocation per event.
// Insert-only: entries are overwritten, never removed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tlsheap::trace {

class AddressMap {
  public:
    void insert_or_assign(std::uint64_t address, std::uint64_t value) {
        if ((count_ + 1) * 2 > slots_.size()) {
            grow();
        }
        Slot& s = slot_for(address);
        if (s.address == 0) {
            ++count_;
        }
        s = {address, value};
    }
    const std::uint64_t* find(std::uint64_t address) const {
        const Slot& s = const_cast<AddressMap*>(this)->slot_for(address);
        return s.address == address && address != 0 ? &s.value : nullptr;
    }
    std::size_t size() const { return count_; }

  private:
    struct Slot {
        std::uint64_t address = 0; // 0: empty (NULL is never a block)
        std::uint64_t value = 0;
    };
    Slot& slot_for(std::uint64_t address) {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = static_cast<std::size_t>((address * 0x9e3779b97f4a7c15ull) >> 24) & mask;
        while (slots_[i].address != 0 && slots_[i].address != address) {
            i = (i + 1) & mask;
        }
        return slots_[i];
    }
    void grow() {
        std::vector<Slot> old(slots_.size() * 2);
        old.swap(slots_);
        count_ = 0;
        for (const Slot& s : old) {
            if (s.address != 0) {
                insert_or_assign(s.address, s.value);
            }
        }
    }
    std::vector<Slot> slots_ = std::vector<Slot>(1024);
    std::size_t count_ = 0;
};

} // namespace tlsheap::trace
