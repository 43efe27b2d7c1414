// The ideal allocator: no headers, no alignment, no fragmentation. Its
// footprint is the live peak, the lower bound every real allocator is
// measured against (ARCHITECTURE.md: "live peak").
#pragma once

#include "tlsheap/allocator_model.h"
#include "tlsheap/lowest_free_index.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::replay {

class IdealModel final : public AllocatorModel {
  public:
    explicit IdealModel(std::optional<std::uint64_t> pool_size);

    std::string name() const override { return "ideal"; }
    std::string description() const override;
    std::optional<std::uint64_t> allocate(std::uint64_t size) override;
    void release(std::uint64_t offset) override;
    std::uint64_t footprint() const override { return peak_; }
    std::uint64_t used_bytes() const override { return live_; }
    std::uint64_t free_bytes_below_footprint() const override { return peak_ - live_; }
    std::uint64_t largest_free_block_below_footprint() const override { return peak_ - live_; }
    HeapFigures heap_figures() const override;
    std::string heap_figures_source() const override;
    std::string verify() const override;
    bool append_state(std::vector<std::uint64_t>& out) const override;
    std::unique_ptr<AllocatorModel> clone() const override {
        return std::make_unique<IdealModel>(*this);
    }
    bool placement_independent_of_pool_end() const override { return true; }

  private:
    struct Block {
        std::uint64_t size = 0;
        bool live = false;
    };

    std::optional<std::uint64_t> pool_size_;
    std::uint64_t live_ = 0;
    std::uint64_t peak_ = 0;
    // By offset. An allocation takes the lowest free offset, so the offsets
    // follow the live blocks alone, not the order of earlier frees (a
    // repeated stretch then finds the state it left: append_state).
    std::vector<Block> blocks_;
    LowestFreeIndex offsets_;
};

} // namespace tlsheap::replay
