// Interns call stacks so that each distinct stack is written to the trace once
// and every event refers to it by id. Handshakes repeat the same few hundred
// stacks thousands of times; this is what keeps traces small.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tlsheap::recorder {

class StackTable {
  public:
    struct Interned {
        std::uint32_t id; // 1-based; 0 means "no stack"
        bool is_new;
    };

    Interned intern(const std::uintptr_t* frames, unsigned count);
    std::size_t size() const { return entries_; }

  private:
    struct Slot {
        std::uint64_t hash = 0;
        std::uint32_t id = 0; // 0: empty slot
        std::uint32_t count = 0;
        std::size_t offset = 0; // into frames_
    };

    void grow();
    void remember(const Slot& s);

    std::vector<Slot> slots_ = std::vector<Slot>(1024);
    std::vector<std::uintptr_t> frames_;
    std::size_t entries_ = 0;
    // The last stack interned, checked before hashing.
    std::uint32_t last_id_ = 0;
    std::uint32_t last_count_ = 0;
    std::size_t last_offset_ = 0;
};

} // namespace tlsheap::recorder
