// Byte-exact model of ESP-IDF's heap: multi_heap over TLSF
// (espressif/esp-idf components/heap/multi_heap.c; espressif/tlsf tlsf.c,
// tlsf_common.h and, from v5.4, tlsf_control_functions.h), for the 32-bit
// targets ESP-IDF runs on, without heap poisoning and with the TLSF in IDF
// rather than in ROM.
//   - multi_heap_register puts its 20-byte heap_t at the region start and
//     creates TLSF over the rest (bytes = region - 20). control_construct sizes
//     the control block from `bytes`: fl_index_max = bit width of bytes,
//     sl_index_count_log2 = 3 up to 16 KiB, 4 up to 256 KiB, else 5,
//     fl_index_shift = sl_log2 + 2; the block takes sizeof(control_t) (36 bytes
//     on 32-bit) + 4 per first-level list + 4 per (first, second)-level list.
//     The pool follows it; its first block's size field is the pool's first word.
//   - tlsf_malloc: adjust = max(roundup4(n), 12) (NULL if roundup4(n) reaches
//     1 << fl_index_max). Good fit: from the request's class rounded up to the
//     next second-level boundary, take the head of the first non-empty list.
//     The block is split when it has at least adjust + 16 bytes; the remainder
//     (4-byte size field, then the rest) goes to the head of its list. From
//     v5.4 (espressif/tlsf PR #2) adjust itself is rounded up to the class
//     boundary, so the handed-out block keeps the rounded size.
//   - tlsf_free merges with the previous, then the next physical block if
//     free, and pushes the result at the head of its list.
// control_t holds block_null (16), the six pool parameters as bitfields of
// one word, size, fl_bitmap and two pointers: 36 bytes in every TLSF ESP-IDF
// pins from v5.1 (espressif/tlsf commit 1ca1da2; before it the six were whole
// words and the structure 56 bytes). v5.0's TLSF, with fixed per-chip arrays,
// is not modelled: the catalog refuses idf=5.0.
#pragma once

#include "block_arena.h"
#include "free_block_index.h"
#include "offset_index.h"
#include "tlsheap/allocator_model.h"

#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tlsheap::replay {

class EspTlsfModel final : public AllocatorModel {
  public:
    // Region used when the replay is unbounded (pool_size nullopt).
    static constexpr std::uint64_t kDefaultNominalHeap = 256 * 1024;

    struct Config {
        unsigned idf_minor = 5; // ESP-IDF v5.<minor>, 1..5
        std::uint64_t nominal_heap = kDefaultNominalHeap;
        std::optional<std::uint64_t> pool_size; // the region given to multi_heap_register
    };

    explicit EspTlsfModel(const Config& config);

    std::string name() const override { return "esp-tlsf"; }
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
        return std::make_unique<EspTlsfModel>(*this);
    }
    std::vector<std::pair<std::string, std::uint64_t>> statistics() const override;
    bool placement_independent_of_pool_end() const override { return false; }
    std::uint64_t smallest_pool() const override;
    std::optional<std::uint64_t> largest_pool() const override { return kLargestRegion; }
    // Heap regions are word-aligned, and the pool is trimmed to whole words.
    std::uint64_t pool_granularity() const override { return 4; }

    // The region the model lays out (pool_size, or the nominal heap).
    std::uint64_t region_size() const { return region_; }
    std::uint64_t control_size() const { return control_size_; }

    // For tests: index nodes the free-space figures looked at so far (TLSF's
    // own searches are O(1) through its bitmaps).
    std::uint64_t free_list_visits() const { return free_index_.visits(); }

  private:
    // bytes = region - 20 must stay below 2^31: 1 << fl_index_max is a 32-bit size_t.
    static constexpr std::uint64_t kLargestRegion = 0x7FFFFFFF;

    struct Block {
        std::uint64_t ptr = 0;         // what malloc returns: 4 bytes after the size field
        std::uint64_t size = 0;        // block_size(): bytes from ptr to the next size field - 4
        std::uint32_t prev = kNoBlock; // physical; kNoBlock after the last is the sentinel
        std::uint32_t next = kNoBlock;
        std::uint32_t prev_free = kNoBlock;
        std::uint32_t next_free = kNoBlock;
        std::uint32_t list = 0; // fl * sl_count + sl of the list it is in, while free
        bool free = false;
    };
    struct ListIndex {
        unsigned fl;
        unsigned sl;
    };

    ListIndex mapping_insert(std::uint64_t size) const {
        if (size < small_block_size_)
            return {0, static_cast<unsigned>(size >> 2)}; // small_block_size / sl_count is 4
        const unsigned bit = static_cast<unsigned>(std::bit_width(size)) - 1;
        const unsigned sl = static_cast<unsigned>(size >> (bit - sl_log2_)) ^ (1u << sl_log2_);
        return {bit - (fl_shift_ - 1), sl};
    }
    void insert_free(std::uint32_t slot);
    void remove_free(std::uint32_t slot);
    std::uint64_t fit_size(std::uint64_t size) const;
    std::optional<FreeBlockIndex::Entry> free_tail() const;
    // The walk the figures replace, for verify().
    template <class Visit>
    void for_each_free_part_below_footprint(Visit visit) const;
    std::string verify_free_index() const;

    unsigned idf_minor_;
    bool trim_to_rounded_size_;
    std::optional<std::uint64_t> pool_size_;
    std::uint64_t region_;
    bool heap_ready_ = false;

    // control_t, as control_construct fills it in.
    unsigned fl_index_max_ = 0;
    unsigned sl_log2_ = 0;
    unsigned fl_shift_ = 0;
    unsigned fl_count_ = 0;
    unsigned sl_count_ = 0;
    std::uint64_t small_block_size_ = 0;
    std::uint64_t control_size_ = 0;
    std::uint64_t pool_bytes_ = 0; // the first block's size
    std::uint64_t first_ptr_ = 0;
    std::uint32_t fl_bitmap_ = 0;
    std::vector<std::uint32_t> sl_bitmap_;
    std::vector<std::uint32_t> heads_; // fl * sl_count + sl

    BlockArena<Block> blocks_;
    OffsetIndex index_;
    std::uint32_t first_block_ = kNoBlock;
    // Every free block by address, for the figures: multi_heap_get_info and
    // the footprint's figures walk the whole pool (tlsf_walk_pool), which a
    // replay asking after every allocation cannot afford.
    FreeBlockIndex free_index_;

    std::uint64_t free_bytes_ = 0; // multi_heap's heap->free_bytes
    std::uint64_t minimum_free_bytes_ = 0;
    std::uint64_t used_bytes_ = 0;
    std::uint64_t footprint_ = 0;
};

} // namespace tlsheap::replay
