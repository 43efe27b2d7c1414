#include "live_allocation_table.h"

namespace tlsheap::recorder {

std::size_t LiveAllocationTable::home(std::uintptr_t address) const {
    std::uint64_t h = static_cast<std::uint64_t>(address);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return static_cast<std::size_t>(h) & (slots_.size() - 1);
}

void LiveAllocationTable::insert(std::uintptr_t address, std::uint64_t seq) {
    if ((entries_ + 1) * 2 > slots_.size()) {
        grow();
    }
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(address);; i = (i + 1) & mask) {
        if (slots_[i].address == 0 || slots_[i].address == address) {
            if (slots_[i].address == 0) {
                ++entries_;
            }
            slots_[i] = {address, seq};
            return;
        }
    }
}

std::uint64_t LiveAllocationTable::find(std::uintptr_t address) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(address);; i = (i + 1) & mask) {
        if (slots_[i].address == 0) {
            return 0;
        }
        if (slots_[i].address == address) {
            return slots_[i].seq;
        }
    }
}

std::uint64_t LiveAllocationTable::take(std::uintptr_t address) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home(address);
    while (slots_[i].address != address) {
        if (slots_[i].address == 0) {
            return 0;
        }
        i = (i + 1) & mask;
    }
    const std::uint64_t seq = slots_[i].seq;
    // Backward-shift deletion keeps every probe chain unbroken.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask; slots_[j].address != 0; j = (j + 1) & mask) {
        const std::size_t want = home(slots_[j].address);
        // Move j into the hole unless its home lies cyclically in (hole, j].
        const bool stays = (hole <= j) ? (hole < want && want <= j) : (hole < want || want <= j);
        if (!stays) {
            slots_[hole] = slots_[j];
            hole = j;
        }
    }
    slots_[hole] = Slot{};
    --entries_;
    return seq;
}

void LiveAllocationTable::grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    entries_ = 0;
    for (const Slot& s : old) {
        if (s.address != 0) {
            insert(s.address, s.seq);
        }
    }
}

} // namespace tlsheap::recorder
