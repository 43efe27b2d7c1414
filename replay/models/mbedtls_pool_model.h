// Byte-exact model of mbedTLS's static-pool allocator,
// library/memory_buffer_alloc.c (Mbed-TLS/mbedtls; the algorithm is the same in
// 2.28 and 3.6). Every block, free or not, starts with a header of seven words
// (magic1, size, alloc, prev, next, prev_free, next_free; plus trace and
// trace_count with MBEDTLS_MEMORY_BACKTRACE) and magic2. The free list is kept
// in list order, not address order:
//   - calloc rounds the request up to the alignment and takes the first block
//     in list order that is large enough. If less than header + alignment
//     would remain, the whole block is handed out and keeps its size;
//     otherwise the remainder gets a header right after the allocation and
//     takes the block's place in the free list.
//   - free merges into the physically previous block if it is free (which
//     keeps its list place), then absorbs the next block if it is free (the
//     result takes the next block's list place); a block that merged with
//     neither is pushed at the head of the free list.
// Offsets are the pointers the real allocator returns minus the pool start,
// which is assumed aligned. min_pool_after_replay() is the smallest len that
// replays the unbounded placement pointer for pointer (reasoning in the .cpp).
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

class MbedtlsPoolModel final : public AllocatorModel {
  public:
    struct Config {
        unsigned pointer_size = 4;              // size_t and pointers of the target
        std::uint64_t align = 4;                // MBEDTLS_MEMORY_ALIGN_MULTIPLE
        bool backtrace = false;                 // MBEDTLS_MEMORY_BACKTRACE
        std::optional<std::uint64_t> pool_size; // len given to ..._buffer_alloc_init
    };

    explicit MbedtlsPoolModel(const Config& config);

    std::string name() const override { return "mbedtls-pool"; }
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
        return std::make_unique<MbedtlsPoolModel>(*this);
    }
    std::vector<std::pair<std::string, std::uint64_t>> statistics() const override;
    bool placement_independent_of_pool_end() const override { return true; }
    // Meaningful after an unbounded replay; bounded, the footprint.
    std::uint64_t min_pool_after_replay() const override {
        return pool_size_ ? footprint_ : pool_end_.smallest();
    }
    std::uint64_t smallest_pool() const override { return header_ + align_; }
    std::uint64_t pool_granularity() const override { return pool_step_; }
    std::optional<std::uint64_t> largest_pool() const override;
    RecordedAllocator reproduces() const override { return RecordedAllocator::MemoryBufferAlloc; }

    // For tests: index nodes the first-fit searches and the free-space
    // figures looked at so far, the model's work that depends on the number
    // of free blocks.
    std::uint64_t free_list_visits() const { return free_index_.visits(); }

  private:
    struct Block {
        std::uint64_t offset = 0; // of the header, from the pool start
        std::uint64_t size = 0;   // bytes after the header
        std::uint32_t prev = kNoBlock;
        std::uint32_t next = kNoBlock;
        std::uint32_t prev_free = kNoBlock;
        std::uint32_t next_free = kNoBlock;
        bool allocated = false;
        bool carved_from_tail = false; // split off the last block of the pool
        std::uint64_t list_key = 0;    // its free-list position, while free (see free_index_)
    };

    // Pool sizes (lens) whose replay has so far matched the unbounded one
    // pointer for pointer but whose free list differs: their tail block is
    // either handed out whole (`block` is that block) or sits in the free list
    // right after `block` (kNoBlock: at the head) instead of last.
    struct DivergentPools {
        bool tail_handed_out = false;
        std::uint32_t block = kNoBlock;
        std::vector<std::uint64_t> lens;
    };

    void unlink_free(std::uint32_t slot);
    void replaced_in_free_list(std::uint32_t old_slot, std::uint32_t new_slot);
    void pushed_on_free_list(std::uint32_t slot);
    void check_divergent_pools_on_allocate(std::uint32_t chosen, std::uint64_t len);
    void check_divergent_pools_on_release(std::uint32_t slot);
    void exclude_pool(std::uint64_t len);
    bool tracked_or_excluded(std::uint64_t len) const;
    void push_on_free_list_index(std::uint32_t slot);
    std::uint64_t tail_part_below_footprint() const;
    // The walk the figures above replace, for verify().
    template <class Visit>
    void for_each_free_part_below_footprint(Visit visit) const;
    std::string verify_free_index() const;

    std::uint64_t header_;
    std::uint64_t align_;
    unsigned pointer_size_;
    bool backtrace_;
    std::optional<std::uint64_t> pool_size_;
    std::uint64_t size_max_;  // SIZE_MAX of the target
    bool heap_ready_ = false; // init refuses a pool smaller than header + align

    BlockArena<Block> blocks_;
    OffsetIndex index_;
    std::uint32_t first_block_ = kNoBlock; // the block at offset 0, never merged away
    std::uint32_t last_block_ = kNoBlock;  // the tail: the last block of the pool
    std::uint32_t first_free_ = kNoBlock;
    // The free list again, keyed by list position: the real list only ever
    // grows at its head (a free that merges with nothing) and otherwise
    // changes by a block taking another's place (a split remainder, a merge
    // into the next block), so a key that decreases with every push at the
    // head, inherited by whatever takes a block's place, orders the keys as
    // the list. First fit in list order is then the smallest key whose size
    // fits: O(log n) instead of the real allocator's walk.
    FreeBlockIndex free_index_;
    std::uint64_t next_head_key_ = std::uint64_t{1} << 63;

    // MBEDTLS_MEMORY_DEBUG counters, as the real allocator keeps them.
    std::uint64_t total_used_ = 0;
    std::uint64_t maximum_used_ = 0;
    std::uint64_t header_count_ = 0;
    std::uint64_t maximum_header_count_ = 0;

    std::uint64_t used_bytes_ = 0;
    std::uint64_t footprint_ = 0;

    // Unbounded only: what the smallest pool must satisfy (see the .cpp).
    PoolEndTracker pool_end_;
    std::uint64_t pool_step_; // lens differing by less than this behave alike
    std::vector<DivergentPools> divergent_;
};

} // namespace tlsheap::replay
