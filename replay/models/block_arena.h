// Storage for a model's block descriptors, addressed by 32-bit slot numbers so
// that links stay small and survive the vector growing. Freed slots are reused
// first, so memory follows the most blocks that ever existed at once.
#pragma once

#include <cstdint>
#include <vector>

namespace tlsheap::replay {

inline constexpr std::uint32_t kNoBlock = UINT32_MAX;

template <class Block>
class BlockArena {
  public:
    // The returned slot holds a value-initialised Block. References taken
    // before this call may dangle: the storage can move.
    std::uint32_t acquire() {
        if (!unused_.empty()) {
            const std::uint32_t slot = unused_.back();
            unused_.pop_back();
            blocks_[slot] = Block{};
            return slot;
        }
        blocks_.emplace_back();
        return static_cast<std::uint32_t>(blocks_.size() - 1);
    }

    void release(std::uint32_t slot) { unused_.push_back(slot); }

    Block& operator[](std::uint32_t slot) { return blocks_[slot]; }
    const Block& operator[](std::uint32_t slot) const { return blocks_[slot]; }

    std::size_t in_use() const { return blocks_.size() - unused_.size(); }
    // Slots handed out so far, live or released.
    std::uint32_t capacity() const { return static_cast<std::uint32_t>(blocks_.size()); }

  private:
    std::vector<Block> blocks_;
    std::vector<std::uint32_t> unused_;
};

} // namespace tlsheap::replay
