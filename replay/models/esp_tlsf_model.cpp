#include "esp_tlsf_model.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace tlsheap::replay {

namespace {

constexpr std::uint64_t kHeapHeader = 20; // multi_heap's heap_t on 32-bit
// sizeof(control_t) on 32-bit: block_null (16), the six pool parameters as
// bitfields in one word, size, fl_bitmap and two pointers (espressif/tlsf
// commit 1ca1da2, pinned by ESP-IDF from v5.1).
constexpr std::uint64_t kControlStruct = 36;
constexpr std::uint64_t kSizeField = 4;     // block_header_overhead
constexpr std::uint64_t kBlockHeader = 16;  // sizeof(block_header_t)
constexpr std::uint64_t kMinimumBlock = 12; // block_size_min
constexpr std::uint32_t kAllBits = 0xFFFFFFFFu;

// Index of the highest set bit (tlsf_fls), for size > 0.
unsigned highest_bit(std::uint64_t size) {
    return static_cast<unsigned>(std::bit_width(size)) - 1;
}

std::uint64_t align_up(std::uint64_t value, std::uint64_t align) {
    return (value + align - 1) & ~(align - 1);
}

} // namespace

EspTlsfModel::EspTlsfModel(const Config& config)
    : idf_minor_(config.idf_minor), trim_to_rounded_size_(config.idf_minor >= 4),
      pool_size_(config.pool_size), region_(config.pool_size.value_or(config.nominal_heap)) {
    // multi_heap_register_impl, tlsf_create_with_pool, control_construct, tlsf_add_pool.
    if (region_ < kHeapHeader || region_ > kLargestRegion)
        return;
    const std::uint64_t bytes = region_ - kHeapHeader;
    if (bytes < kControlStruct)
        return;
    fl_index_max_ = static_cast<unsigned>(std::bit_width(bytes));
    sl_log2_ = bytes <= 16 * 1024 ? 3 : bytes <= 256 * 1024 ? 4 : 5;
    fl_shift_ = sl_log2_ + 2;
    sl_count_ = 1u << sl_log2_;
    fl_count_ = fl_index_max_ - fl_shift_ + 1;
    small_block_size_ = std::uint64_t{1} << fl_shift_;
    control_size_ =
        kControlStruct + 4 * std::uint64_t{fl_count_} + 4 * std::uint64_t{fl_count_} * sl_count_;
    if (bytes < control_size_ + kMinimumBlock)
        return;
    // tlsf_add_pool keeps room for the first block's size field and the sentinel.
    pool_bytes_ = (bytes - control_size_ - 2 * kSizeField) & ~std::uint64_t{3};
    if (pool_bytes_ < kMinimumBlock || pool_bytes_ > (std::uint64_t{1} << fl_index_max_))
        return;

    heap_ready_ = true;
    sl_bitmap_.assign(fl_count_, 0);
    heads_.assign(std::size_t{fl_count_} * sl_count_, kNoBlock);
    const std::uint64_t pool_start = kHeapHeader + control_size_;
    first_ptr_ = pool_start + kSizeField;
    first_block_ = blocks_.acquire();
    blocks_[first_block_].ptr = first_ptr_;
    blocks_[first_block_].size = pool_bytes_;
    insert_free(first_block_);
    free_bytes_ = bytes - control_size_;
    minimum_free_bytes_ = free_bytes_;
    footprint_ = pool_start;
}

std::string EspTlsfModel::description() const {
    std::string text =
        "esp-tlsf (ESP-IDF v5." + std::to_string(idf_minor_) + " multi_heap TLSF, ILP32, ";
    text += pool_size_ ? "heap " + std::to_string(region_) + " B"
                       : "unbounded: nominal heap " + std::to_string(region_) + " B";
    if (!heap_ready_)
        return text + ", too small for a heap: every allocation fails)";
    text += ", sl_log2 " + std::to_string(sl_log2_) + ", control " +
            std::to_string(kHeapHeader + control_size_) + " B, ";
    text += trim_to_rounded_size_ ? "blocks keep the class-rounded size)"
                                  : "blocks trimmed to the request)";
    return text;
}

void EspTlsfModel::insert_free(std::uint32_t slot) {
    Block& block = blocks_[slot];
    const ListIndex list = mapping_insert(block.size);
    block.list = list.fl * sl_count_ + list.sl;
    std::uint32_t& head = heads_[block.list];
    block.free = true;
    free_index_.insert(block.ptr, slot, block.size);
    block.prev_free = kNoBlock;
    block.next_free = head;
    if (head != kNoBlock)
        blocks_[head].prev_free = slot;
    head = slot;
    fl_bitmap_ |= 1u << list.fl;
    sl_bitmap_[list.fl] |= 1u << list.sl;
}

void EspTlsfModel::remove_free(std::uint32_t slot) {
    Block& block = blocks_[slot];
    free_index_.erase(block.ptr);
    std::uint32_t& head = heads_[block.list];
    if (block.prev_free != kNoBlock)
        blocks_[block.prev_free].next_free = block.next_free;
    if (block.next_free != kNoBlock)
        blocks_[block.next_free].prev_free = block.prev_free;
    if (head == slot) {
        head = block.next_free;
        if (head == kNoBlock) {
            const unsigned fl = block.list >> sl_log2_;
            sl_bitmap_[fl] &= ~(1u << (block.list & (sl_count_ - 1)));
            if (sl_bitmap_[fl] == 0)
                fl_bitmap_ &= ~(1u << fl);
        }
    }
    block.prev_free = kNoBlock;
    block.next_free = kNoBlock;
}

std::optional<std::uint64_t> EspTlsfModel::allocate(std::uint64_t size) {
    if (!heap_ready_ || size == 0)
        return std::nullopt;
    // adjust_request_size
    const std::uint64_t block_size_max = std::uint64_t{1} << fl_index_max_;
    if (size >= block_size_max)
        return std::nullopt;
    const std::uint64_t aligned = align_up(size, 4);
    if (aligned >= block_size_max)
        return std::nullopt;
    std::uint64_t adjust = std::max(aligned, kMinimumBlock);

    // mapping_search: round up to the next second-level class boundary.
    std::uint64_t search = adjust;
    if (adjust >= small_block_size_) {
        const std::uint64_t round = std::uint64_t{1} << (highest_bit(adjust) - sl_log2_);
        if (trim_to_rounded_size_) {
            adjust = align_up(adjust, round);
            search = adjust;
        } else {
            search = adjust + round - 1;
        }
    }
    ListIndex list = mapping_insert(search);
    if (list.fl >= fl_count_)
        return std::nullopt;

    // search_suitable_block
    std::uint32_t sl_map = sl_bitmap_[list.fl] & (kAllBits << list.sl);
    if (sl_map == 0) {
        const std::uint32_t fl_map = fl_bitmap_ & (kAllBits << (list.fl + 1));
        if (fl_map == 0)
            return std::nullopt;
        list.fl = static_cast<unsigned>(std::countr_zero(fl_map));
        sl_map = sl_bitmap_[list.fl];
    }
    list.sl = static_cast<unsigned>(std::countr_zero(sl_map));
    const std::uint32_t slot = heads_[std::size_t{list.fl} * sl_count_ + list.sl];
    remove_free(slot);

    // block_prepare_used / block_trim_free
    if (blocks_[slot].size >= kBlockHeader + adjust) {
        const std::uint32_t rest = blocks_.acquire(); // may move the storage
        Block& block = blocks_[slot];
        Block& remainder = blocks_[rest];
        remainder.ptr = block.ptr + adjust + kSizeField;
        remainder.size = block.size - adjust - kSizeField;
        remainder.prev = slot;
        remainder.next = block.next;
        if (remainder.next != kNoBlock)
            blocks_[remainder.next].prev = rest;
        block.next = rest;
        block.size = adjust;
        insert_free(rest);
        // The remainder's size field and free-list links are written.
        footprint_ = std::max(footprint_, block.ptr + adjust + kSizeField + 8);
    }
    Block& block = blocks_[slot];
    block.free = false;
    footprint_ = std::max(footprint_, block.ptr + block.size + kSizeField);
    free_bytes_ -= block.size + kSizeField;
    minimum_free_bytes_ = std::min(minimum_free_bytes_, free_bytes_);
    used_bytes_ += block.size + kSizeField;
    index_.insert(block.ptr, slot);
    return block.ptr;
}

void EspTlsfModel::release(std::uint64_t offset) {
    std::uint32_t slot = index_.erase(offset);
    assert(slot != OffsetIndex::npos && "release of an offset that is not live");
    if (slot == OffsetIndex::npos)
        return;
    free_bytes_ += blocks_[slot].size + kSizeField;
    used_bytes_ -= blocks_[slot].size + kSizeField;

    // block_merge_prev
    const std::uint32_t prev = blocks_[slot].prev;
    if (prev != kNoBlock && blocks_[prev].free) {
        remove_free(prev);
        Block& before = blocks_[prev];
        before.size += blocks_[slot].size + kSizeField;
        before.next = blocks_[slot].next;
        if (before.next != kNoBlock)
            blocks_[before.next].prev = prev;
        blocks_.release(slot);
        slot = prev;
    }
    // block_merge_next; the sentinel after the last block is never free.
    const std::uint32_t next = blocks_[slot].next;
    if (next != kNoBlock && blocks_[next].free) {
        remove_free(next);
        Block& block = blocks_[slot];
        block.size += blocks_[next].size + kSizeField;
        block.next = blocks_[next].next;
        if (block.next != kNoBlock)
            blocks_[block.next].prev = slot;
        blocks_.release(next);
    }
    insert_free(slot);
}

std::uint64_t EspTlsfModel::smallest_pool() const {
    // The smallest region multi_heap_register accepts with a pool for one block.
    for (std::uint64_t region = kHeapHeader + kControlStruct;; region += 4) {
        Config config;
        config.idf_minor = idf_minor_;
        config.pool_size = region;
        if (EspTlsfModel(config).heap_ready_)
            return region;
    }
}

// The largest request a free block of `size` bytes is sure to serve: good fit
// only looks in classes at or above the request's rounded class, so the
// block's own class lower bound (tlsf_fit_size).
std::uint64_t EspTlsfModel::fit_size(std::uint64_t size) const {
    if (size < kMinimumBlock)
        return 0;
    if (size < small_block_size_)
        return size & ~std::uint64_t{3};
    const std::uint64_t interval = std::uint64_t{1} << (highest_bit(size) - sl_log2_);
    return size & ~(interval - 1);
}

template <class Visit>
void EspTlsfModel::for_each_free_part_below_footprint(Visit visit) const {
    for (std::uint32_t slot = first_block_; slot != kNoBlock; slot = blocks_[slot].next) {
        const Block& block = blocks_[slot];
        if (block.ptr >= footprint_)
            break;
        if (block.free)
            visit(std::min(block.ptr + block.size, footprint_) - block.ptr);
    }
}

// The last block of the pool (before the sentinel), when it is free.
std::optional<FreeBlockIndex::Entry> EspTlsfModel::free_tail() const {
    const auto last = free_index_.last_before(UINT64_MAX);
    if (last && blocks_[last->slot].next == kNoBlock)
        return last;
    return std::nullopt;
}

// Every block but the last lies below the footprint: a block ends where a
// split once wrote the next block's header, and the footprint covers it. So
// the free bytes below the footprint are the free blocks' sizes, the last
// block clipped at the footprint.
std::uint64_t EspTlsfModel::free_bytes_below_footprint() const {
    const auto tail = free_tail();
    std::uint64_t total = free_index_.total();
    if (tail) {
        total -= tail->size;
        if (tail->key < footprint_)
            total += std::min(tail->key + tail->size, footprint_) - tail->key;
    }
    return total;
}

std::uint64_t EspTlsfModel::largest_free_block_below_footprint() const {
    const auto tail = free_tail();
    std::uint64_t largest = tail ? free_index_.largest_except(tail->key) : free_index_.largest();
    if (tail && tail->key < footprint_)
        largest = std::max(largest, std::min(tail->key + tail->size, footprint_) - tail->key);
    // fit_size only grows with the size: that of the largest block is the largest.
    return fit_size(largest);
}

// heap_caps_get_free_size() is multi_heap_free_size(): heap->free_bytes, the
// region after heap_t and the control block less every allocated block and
// its size field. heap_caps_get_largest_free_block() is multi_heap_get_info's
// largest_free_block: the largest block_size() tlsf_walk_pool sees on a free
// block, passed through tlsf_fit_size (esp-idf components/heap/multi_heap.c,
// multi_heap_get_info_impl, read in a v5.x copy; it is the fix of
// esp-idf#7808, reported on v5.0-dev, for v4.x's rounding down to a power of
// two, so this model assumes it in every v5.x it claims). Good fit serves
// exactly the requests up to that figure, so it is also the largest request
// that succeeds. The untouched tail is part of the last free block.
HeapFigures EspTlsfModel::heap_figures() const {
    HeapFigures figures;
    if (!heap_ready_)
        return figures;
    figures.free_bytes = free_bytes_;
    figures.largest_free_block = fit_size(free_index_.largest());
    figures.largest_request = figures.largest_free_block;
    return figures;
}

std::string EspTlsfModel::heap_figures_source() const {
    return "heap_caps_get_free_size, heap_caps_get_largest_free_block (multi_heap_get_info, "
           "tlsf_fit_size)";
}

std::vector<std::pair<std::string, std::uint64_t>> EspTlsfModel::statistics() const {
    if (!heap_ready_)
        return {};
    // multi_heap_minimum_free_size(): bytes of the region after heap_t and the
    // control block, less each allocated block and its size field.
    return {{"minimum_free_bytes", minimum_free_bytes_}};
}

std::string EspTlsfModel::verify() const {
    if (!heap_ready_)
        return index_.size() == 0 ? "" : "blocks handed out from a region multi_heap refused";

    std::uint64_t blocks = 0, free_blocks = 0, allocated = 0, allocated_bytes = 0;
    std::uint64_t expected_ptr = first_ptr_;
    std::uint32_t prev = kNoBlock;
    for (std::uint32_t slot = first_block_; slot != kNoBlock; slot = blocks_[slot].next) {
        const Block& block = blocks_[slot];
        const std::string at = " at offset " + std::to_string(block.ptr);
        if (++blocks > blocks_.in_use())
            return "block chain loops" + at;
        if (block.ptr != expected_ptr)
            return "block chain has a gap or overlap" + at;
        if (block.prev != prev)
            return "prev_phys_block does not point at the previous block" + at;
        if (block.size < kMinimumBlock || block.size % 4 != 0)
            return "block size " + std::to_string(block.size) + " invalid" + at;
        if (block.free) {
            ++free_blocks;
            if (prev != kNoBlock && blocks_[prev].free)
                return "blocks should have coalesced" + at;
            const ListIndex list = mapping_insert(block.size);
            bool listed = false;
            for (std::uint32_t entry = heads_[std::size_t{list.fl} * sl_count_ + list.sl];
                 entry != kNoBlock; entry = blocks_[entry].next_free)
                if (entry == slot) {
                    listed = true;
                    break;
                }
            if (!listed)
                return "free block not in the list of its size class" + at;
        } else {
            ++allocated;
            allocated_bytes += block.size + kSizeField;
            if (index_.find(block.ptr) != slot)
                return "allocated block missing from the offset index" + at;
        }
        expected_ptr = block.ptr + block.size + kSizeField;
        prev = slot;
    }
    if (expected_ptr != first_ptr_ + pool_bytes_ + kSizeField)
        return "blocks do not end at the sentinel";
    if (blocks != blocks_.in_use())
        return "block storage holds blocks outside the chain";
    if (allocated != index_.size())
        return "offset index out of step with the allocated blocks";
    if (allocated_bytes != used_bytes_)
        return "used bytes out of step with the allocated blocks";
    if (free_bytes_ + allocated_bytes != region_ - kHeapHeader - control_size_)
        return "multi_heap free_bytes out of step with the allocated blocks";
    if (minimum_free_bytes_ > free_bytes_)
        return "minimum free bytes above the free bytes";

    // tlsf_check: bitmaps and lists agree, every listed block is free and in its class.
    std::uint64_t listed = 0;
    for (unsigned fl = 0; fl < fl_count_; ++fl) {
        if (((fl_bitmap_ >> fl) & 1u) != (sl_bitmap_[fl] != 0 ? 1u : 0u))
            return "first-level bitmap disagrees with second-level map " + std::to_string(fl);
        for (unsigned sl = 0; sl < sl_count_; ++sl) {
            const std::uint32_t head = heads_[std::size_t{fl} * sl_count_ + sl];
            if (((sl_bitmap_[fl] >> sl) & 1u) != (head != kNoBlock ? 1u : 0u))
                return "second-level bitmap disagrees with list " + std::to_string(fl) + "/" +
                       std::to_string(sl);
            std::uint32_t before = kNoBlock;
            for (std::uint32_t entry = head; entry != kNoBlock; entry = blocks_[entry].next_free) {
                const Block& block = blocks_[entry];
                if (++listed > free_blocks)
                    return "free lists longer than the free blocks (loop or stray entry)";
                if (!block.free)
                    return "used block in a free list at offset " + std::to_string(block.ptr);
                if (block.prev_free != before)
                    return "prev_free link broken at offset " + std::to_string(block.ptr);
                const ListIndex list = mapping_insert(block.size);
                if (list.fl != fl || list.sl != sl || block.list != fl * sl_count_ + sl)
                    return "block size indexed in wrong list at offset " +
                           std::to_string(block.ptr);
                before = entry;
            }
        }
    }
    if (listed != free_blocks)
        return "free lists and free blocks disagree";
    if (fl_count_ < 32 && (fl_bitmap_ >> fl_count_) != 0)
        return "first-level bitmap has bits beyond the last list";
    return verify_free_index();
}

// The index holds every free block with its size, and the figures it gives
// are those of a walk over the pool.
std::string EspTlsfModel::verify_free_index() const {
    std::vector<FreeBlockIndex::Entry> indexed;
    free_index_.for_each([&](const FreeBlockIndex::Entry& e) { indexed.push_back(e); });
    std::size_t i = 0;
    std::uint64_t largest_free = 0;
    for (std::uint32_t slot = first_block_; slot != kNoBlock; slot = blocks_[slot].next) {
        const Block& block = blocks_[slot];
        if (!block.free)
            continue;
        if (i >= indexed.size() || indexed[i].slot != slot || indexed[i].key != block.ptr ||
            indexed[i].size != block.size)
            return "free-block index out of step with the pool at offset " +
                   std::to_string(block.ptr);
        largest_free = std::max(largest_free, block.size);
        ++i;
    }
    if (i != indexed.size())
        return "free-block index holds blocks that are not free";
    std::uint64_t total = 0, largest = 0;
    for_each_free_part_below_footprint([&](std::uint64_t bytes) {
        total += bytes;
        largest = std::max(largest, fit_size(bytes));
    });
    if (total != free_bytes_below_footprint() || largest != largest_free_block_below_footprint() ||
        heap_figures().largest_free_block != fit_size(largest_free))
        return "free space figures differ from the pool's";
    return "";
}

bool EspTlsfModel::append_state(std::vector<std::uint64_t>& out) const {
    out.insert(out.end(), {heap_ready_, fl_bitmap_, free_bytes_, minimum_free_bytes_, used_bytes_,
                           footprint_});
    out.insert(out.end(), sl_bitmap_.begin(), sl_bitmap_.end());
    for (std::uint32_t slot = first_block_; slot != kNoBlock; slot = blocks_[slot].next) {
        const Block& block = blocks_[slot];
        out.insert(out.end(), {block.ptr, block.size, block.free ? block.list + 1u : 0u});
    }
    out.push_back(UINT64_MAX);
    // Each free list in its order: TLSF takes a list's head.
    for (std::size_t list = 0; list < heads_.size(); ++list) {
        if (heads_[list] == kNoBlock)
            continue;
        out.push_back(list);
        for (std::uint32_t slot = heads_[list]; slot != kNoBlock; slot = blocks_[slot].next_free)
            out.push_back(blocks_[slot].ptr);
        out.push_back(UINT64_MAX);
    }
    return true;
}

} // namespace tlsheap::replay
