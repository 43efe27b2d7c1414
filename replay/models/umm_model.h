// Byte-exact model of umm_malloc (rhempel/umm_malloc src/umm_malloc.c; the
// ESP8266 Arduino core's cores/esp8266/umm_malloc/umm_malloc.cpp is the same
// allocator, best fit by default). The heap is an array of 8-byte blocks
// addressed by 15-bit numbers; each block starts with {next, prev} block
// numbers (the top bit of next marks a free block), and a free block's body
// holds {next free, prev free}. Block 0 heads the free list, the last block
// ends the heap.
//   - malloc needs blocks(n) = 1 for n <= 4, else 2 + (n - 5) / 8, i.e.
//     ceil((n + 4) / 8). Best fit walks the whole free list and keeps the
//     first smallest block that fits (first fit stops at the first). The
//     allocation takes the front of the block; the rest keeps its list slot.
//   - free absorbs the next block if free (taking it off the list), then
//     merges into the previous block if free (which keeps its slot), else
//     pushes the block at the head of the list.
// The returned pointer is the block's body: 8 * block + 4 from the heap start.
// Upstream caps blocks(n) at 32767 so huge requests fail; the ESP8266 core's
// older copy lets the count wrap, which no TLS request comes near.
// umm_init_heap takes any size without a check: block numbers are 15 bits, so
// a heap of up to 32,768 blocks (the last is block 32,767) works, and one of
// 3 blocks already has a block to hand out. Outside that the real heap is
// broken (a last block number that wraps, or, under 2 blocks, init writing
// past the heap): the model hands out nothing there and says why.
#pragma once

#include "free_block_index.h"
#include "tlsheap/allocator_model.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::replay {

class UmmModel final : public AllocatorModel {
  public:
    static constexpr std::uint64_t kBlockSize = 8;
    // The last block's number must fit 15 bits.
    static constexpr unsigned kMaxBlocks = 0x8000;
    // Block 0 heads the free list, the last ends the heap, one in between.
    static constexpr unsigned kMinBlocks = 3;

    struct Config {
        bool best_fit = true;
        std::optional<std::uint64_t> pool_size; // bytes given to umm_init_heap
    };

    explicit UmmModel(const Config& config);

    std::string name() const override { return "umm"; }
    std::string description() const override;
    std::optional<std::uint64_t> allocate(std::uint64_t size) override;
    void release(std::uint64_t offset) override;
    std::uint64_t footprint() const override { return kBlockSize * footprint_blocks_; }
    std::uint64_t used_bytes() const override { return kBlockSize * used_blocks_; }
    std::uint64_t free_bytes_below_footprint() const override;
    std::uint64_t largest_free_block_below_footprint() const override;
    HeapFigures heap_figures() const override;
    std::string heap_figures_source() const override;
    std::string verify() const override;
    bool append_state(std::vector<std::uint64_t>& out) const override;
    std::unique_ptr<AllocatorModel> clone() const override {
        return std::make_unique<UmmModel>(*this);
    }
    bool placement_independent_of_pool_end() const override { return false; }
    std::uint64_t smallest_pool() const override { return kMinBlocks * kBlockSize; }
    std::optional<std::uint64_t> largest_pool() const override {
        return kMaxBlocks * kBlockSize + kBlockSize - 1;
    }
    std::uint64_t pool_granularity() const override { return kBlockSize; }

    // For tests: index nodes the fit searches and the free-space figures
    // looked at so far, the model's work that depends on the number of free
    // blocks.
    std::uint64_t free_list_visits() const { return free_index_.visits(); }

  private:
    struct Header {
        std::uint16_t next = 0;      // UMM_NBLOCK, with the free flag
        std::uint16_t prev = 0;      // UMM_PBLOCK
        std::uint16_t next_free = 0; // UMM_NFREE, valid in free blocks and block 0
        std::uint16_t prev_free = 0; // UMM_PFREE
    };
    static constexpr std::uint16_t kFreeFlag = 0x8000;
    static constexpr std::uint16_t kNumberMask = 0x7FFF;

    std::uint16_t nblock(std::uint16_t block) const { return heap_[block].next; }
    std::uint16_t& nblock(std::uint16_t block) { return heap_[block].next; }
    std::uint16_t& pblock(std::uint16_t block) { return heap_[block].prev; }
    std::uint16_t& nfree(std::uint16_t block) { return heap_[block].next_free; }
    std::uint16_t& pfree(std::uint16_t block) { return heap_[block].prev_free; }

    std::uint16_t size_of(std::uint16_t block) const {
        return static_cast<std::uint16_t>((nblock(block) & kNumberMask) - block);
    }
    std::uint64_t index_key(std::uint16_t block, std::uint16_t size) const {
        return best_fit_ ? std::uint64_t{size} << 48 | list_key_[block] : list_key_[block];
    }
    void index_free(std::uint16_t block) {
        free_index_.insert(index_key(block, size_of(block)), block, size_of(block));
    }
    void unindex_free(std::uint16_t block) { free_index_.erase(index_key(block, size_of(block))); }
    // `block` was indexed at `old_key`, before its size or list slot changed.
    void reindex_free(std::uint64_t old_key, std::uint16_t block) {
        free_index_.replace(old_key, index_key(block, size_of(block)), block, size_of(block));
    }
    void disconnect_from_free_list(std::uint16_t block);
    void assimilate_up(std::uint16_t block);
    std::uint16_t last_block() const { return static_cast<std::uint16_t>(numblocks_ - 1); }
    std::uint64_t top_part_beyond_footprint() const;
    // The walks the figures replace, for verify().
    template <class Visit>
    void for_each_free_part_below_footprint(Visit visit) const;
    std::string verify_free_index() const;

    bool best_fit_;
    std::optional<std::uint64_t> pool_size_;
    unsigned numblocks_ = 0;
    std::vector<Header> heap_; // empty when the size gives no working heap
    // The free list again, for the fit searches: the real list only grows at
    // its head (a free that merges with nothing) and otherwise changes by a
    // block taking another's place (a split's rest) or growing in place (a
    // merge into the previous block), so a key that decreases with every push
    // at the head, inherited by the rest of a split, orders the keys as the
    // list. First fit is the smallest key whose size fits; best fit, with the
    // size above the list key, the smallest key from (blocks << 48) on: the
    // smallest size that fits, the first in list order among equals, as
    // umm_malloc_core's `blockSize < bestSize` keeps. O(log n) each.
    FreeBlockIndex free_index_;
    std::vector<std::uint64_t> list_key_; // per block, while free
    std::uint64_t next_head_key_ = (std::uint64_t{1} << 48) - 1;
    std::uint64_t used_blocks_ = 0;
    std::uint64_t live_blocks_ = 0;
    std::uint64_t footprint_blocks_ = 0;
};

} // namespace tlsheap::replay
