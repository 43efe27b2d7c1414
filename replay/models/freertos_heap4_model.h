// Byte-exact model of FreeRTOS heap_4 (FreeRTOS/FreeRTOS-Kernel,
// portable/MemMang/heap_4.c; V10.x and V11.x behave the same here). Every block
// starts with a BlockLink_t {next free, size} padded to portBYTE_ALIGNMENT
// (xHeapStructSize: 8 bytes on 32-bit targets, 16 on 64-bit):
//   - pvPortMalloc wants roundup(n + xHeapStructSize, portBYTE_ALIGNMENT); n = 0,
//     an overflow, a size with the top bit set or more than xFreeBytesRemaining
//     give NULL. First fit over the free list, which is kept in address order.
//     The block is split when more than heapMINIMUM_BLOCK_SIZE
//     (2 * xHeapStructSize) would remain; the remainder starts right after it.
//   - vPortFree inserts the block in address order and merges it with the
//     free blocks directly before and after it.
//   - prvHeapInit rounds the start of ucHeap up to portBYTE_ALIGNMENT, taking
//     the bytes it skips off configTOTAL_HEAP_SIZE, and puts the end marker
//     pxEnd at the aligned-down address start + size - xHeapStructSize; the
//     first free block runs from the aligned start to pxEnd. Where ucHeap sits
//     is the linker's choice: the `start` option gives its address modulo
//     portBYTE_ALIGNMENT (0, aligned, unless told). Offsets count from ucHeap.
// MODELS.md gives the minimum block as 16 bytes: that holds on 32-bit targets;
// the source's heapMINIMUM_BLOCK_SIZE is 2 * xHeapStructSize, 32 on 64-bit.
#pragma once

#include "block_arena.h"
#include "free_block_index.h"
#include "offset_index.h"
#include "pool_end_tracker.h"
#include "tlsheap/allocator_model.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tlsheap::replay {

class FreertosHeap4Model final : public AllocatorModel {
  public:
    struct Config {
        unsigned pointer_size = 4;              // of pointers and size_t
        std::uint64_t align = 8;                // portBYTE_ALIGNMENT
        std::uint64_t start = 0;                // ucHeap's address modulo align
        std::optional<std::uint64_t> pool_size; // configTOTAL_HEAP_SIZE
    };

    explicit FreertosHeap4Model(const Config& config);

    std::string name() const override { return "freertos-heap4"; }
    std::string description() const override;
    std::optional<std::uint64_t> allocate(std::uint64_t size) override;
    void release(std::uint64_t offset) override;
    std::uint64_t footprint() const override { return footprint_; }
    std::uint64_t used_bytes() const override { return used_bytes_; }
    std::uint64_t free_bytes_below_footprint() const override;
    std::uint64_t largest_free_block_below_footprint() const override;
    HeapFigures heap_figures() const override;
    std::string heap_figures_source() const override;
    std::string verify() const override;
    bool append_state(std::vector<std::uint64_t>& out) const override;
    std::unique_ptr<AllocatorModel> clone() const override {
        return std::make_unique<FreertosHeap4Model>(*this);
    }
    std::vector<std::pair<std::string, std::uint64_t>> statistics() const override;
    bool placement_independent_of_pool_end() const override { return true; }
    std::uint64_t min_pool_after_replay() const override;
    // Room for the skipped start, pxEnd and one block of the smallest request.
    std::uint64_t smallest_pool() const override { return skip_ + 2 * header_ + align_; }
    std::optional<std::uint64_t> largest_pool() const override;
    // pxEnd moves in steps of portBYTE_ALIGNMENT.
    std::uint64_t pool_granularity() const override { return align_; }

    // For tests: index nodes the first-fit and insertion searches and the
    // free-space figures looked at so far, the model's work that depends on
    // the number of free blocks.
    std::uint64_t free_list_visits() const { return free_index_.visits(); }

  private:
    struct Block {
        std::uint64_t offset = 0;      // of the BlockLink_t, from ucHeap
        std::uint64_t size = 0;        // xBlockSize: the header included
        std::uint32_t prev = kNoBlock; // physical neighbours (the model's own bookkeeping)
        std::uint32_t next = kNoBlock;
        std::uint32_t next_free = kNoBlock; // pxNextFreeBlock, in address order
        std::uint32_t prev_free = kNoBlock; // the model's own, to skip the walk on free
        bool allocated = false;
        bool carved_from_tail = false;
    };

    std::optional<FreeBlockIndex::Entry> free_tail() const;
    // The walk the figures replace, for verify().
    template <class Visit>
    void for_each_free_part_below_footprint(Visit visit) const;
    std::string verify_free_index() const;

    std::uint64_t header_;     // xHeapStructSize
    std::uint64_t link_bytes_; // sizeof(BlockLink_t), what a split writes
    std::uint64_t align_;
    std::uint64_t skip_;          // bytes prvHeapInit skips to align ucHeap
    std::uint64_t minimum_block_; // heapMINIMUM_BLOCK_SIZE
    unsigned pointer_size_;
    std::optional<std::uint64_t> pool_size_;
    std::uint64_t size_max_;
    std::uint64_t allocated_bit_; // heapBLOCK_ALLOCATED_BITMASK
    std::uint64_t heap_end_ = 0;  // where pxEnd sits
    bool heap_ready_ = false;

    BlockArena<Block> blocks_;
    OffsetIndex index_;
    std::uint32_t first_block_ = kNoBlock;
    std::uint32_t first_free_ = kNoBlock; // xStart.pxNextFreeBlock; kNoBlock is pxEnd
    // The free list again, keyed by address as heap_4 keeps it: the searches
    // pvPortMalloc and prvInsertBlockIntoFreeList make by walking it take
    // O(log n) here.
    FreeBlockIndex free_index_;

    std::uint64_t free_bytes_remaining_ = 0;
    std::uint64_t minimum_ever_free_ = 0;
    std::uint64_t used_bytes_ = 0;
    std::uint64_t footprint_ = 0;
    PoolEndTracker pool_end_; // in terms of where pxEnd must sit
};

} // namespace tlsheap::replay
