// Maps each live heap address to the sequence number of the allocation that
// returned it, so that every Free record names its matching Alloc. Open
// addressing with backward-shift deletion: no tombstones, no per-event
// allocation once the table has grown to the working set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tlsheap::recorder {

class LiveAllocationTable {
  public:
    void insert(std::uintptr_t address, std::uint64_t seq);
    // Removes the entry and returns its seq, or 0 when the address is not live.
    std::uint64_t take(std::uintptr_t address);
    // Seq of a live address without removing it, 0 when not live.
    std::uint64_t find(std::uintptr_t address) const;
    std::size_t size() const { return entries_; }

  private:
    struct Slot {
        std::uintptr_t address = 0; // 0: empty (a live allocation is never at 0)
        std::uint64_t seq = 0;
    };

    std::size_t home(std::uintptr_t address) const;
    void grow();

    std::vector<Slot> slots_ = std::vector<Slot>(1024);
    std::size_t entries_ = 0;
};

} // namespace tlsheap::recorder
