#include "freertos_heap4_model.h"

#include <algorithm>
#include <cassert>

// Minimum configTOTAL_HEAP_SIZE (min_pool_after_replay), from the split rule.
//
// The free list is in address order, so the last block (the tail, which ends at
// pxEnd) is always searched last, and a finite heap serves the trace the same
// way while every block carved from the tail fits: a carve at T of `want` bytes
// needs pxEnd >= E = T + want. No room for a remainder is needed: with at most
// heapMINIMUM_BLOCK_SIZE left, heap_4 hands the tail out whole.
//
// Handing the tail out whole is harmless when the block is freed (it goes back
// in address order, merged as unbounded), but while it is live there is no
// tail: if the trace carves the tail again meanwhile, that allocation fails.
// So when a carve finds the block just before the tail still live and itself
// carved from the tail (ending at T), pxEnd in [T, T + heapMINIMUM_BLOCK_SIZE]
// is forbidden. pxEnd outside those ranges and at or above every E replays
// the trace block for block; any lower pxEnd makes an allocation fail. The
// heap size follows: pxEnd = aligned_down(configTOTAL_HEAP_SIZE -
// xHeapStructSize), so configTOTAL_HEAP_SIZE = pxEnd + xHeapStructSize.

namespace tlsheap::replay {

namespace {

constexpr std::uint64_t kUnboundedHeap = std::uint64_t{1} << 62;

std::uint64_t round_up(std::uint64_t value, std::uint64_t align) {
    return (value + align - 1) & ~(align - 1);
}

} // namespace

FreertosHeap4Model::FreertosHeap4Model(const Config& config)
    : header_(round_up(2 * std::uint64_t{config.pointer_size}, config.align)),
      link_bytes_(2 * std::uint64_t{config.pointer_size}), align_(config.align),
      skip_((config.align - config.start % config.align) % config.align),
      minimum_block_(2 * header_), pointer_size_(config.pointer_size), pool_size_(config.pool_size),
      size_max_(config.pointer_size == 4 ? UINT32_MAX : UINT64_MAX),
      allocated_bit_(config.pointer_size == 4 ? std::uint64_t{1} << 31 : std::uint64_t{1} << 63) {
    if (pool_size_) {
        if (*pool_size_ < skip_ + header_ + align_)
            return; // prvHeapInit would put pxEnd before the heap start
        heap_end_ = skip_ + ((*pool_size_ - skip_ - header_) & ~(align_ - 1));
    } else {
        heap_end_ = skip_ + kUnboundedHeap;
    }
    heap_ready_ = true;
    first_block_ = blocks_.acquire();
    blocks_[first_block_].offset = skip_;
    blocks_[first_block_].size = heap_end_ - skip_;
    first_free_ = first_block_;
    free_index_.insert(skip_, first_block_, heap_end_ - skip_);
    free_bytes_remaining_ = heap_end_ - skip_;
    minimum_ever_free_ = free_bytes_remaining_;
}

std::string FreertosHeap4Model::description() const {
    std::string text = "freertos-heap4 (FreeRTOS heap_4.c, header " + std::to_string(header_) +
                       " B, portBYTE_ALIGNMENT " + std::to_string(align_) + ", minimum block " +
                       std::to_string(minimum_block_) + " B, " +
                       (pointer_size_ == 4 ? "ILP32" : "LP64") + ", heap ";
    text += pool_size_ ? std::to_string(*pool_size_) + " B" : "unbounded";
    // prvHeapInit skips up to portBYTE_ALIGNMENT - 1 bytes of a misaligned
    // ucHeap: say which placement the figures assume.
    text += skip_ == 0 ? ", ucHeap aligned"
                       : ", ucHeap at " + std::to_string(align_ - skip_) + " mod " +
                             std::to_string(align_) + ": " + std::to_string(skip_) + " B skipped";
    return text + (heap_ready_ ? ")" : ", too small for pxEnd: every malloc fails)");
}

std::optional<std::uint64_t> FreertosHeap4Model::allocate(std::uint64_t size) {
    if (!heap_ready_ || size == 0 || size > size_max_ - header_)
        return std::nullopt;
    std::uint64_t want = size + header_;
    if (want % align_ != 0) {
        const std::uint64_t pad = align_ - want % align_;
        if (want > size_max_ - pad)
            return std::nullopt;
        want += pad;
    }
    if ((want & allocated_bit_) != 0 || want > free_bytes_remaining_)
        return std::nullopt;

    // pvPortMalloc's walk from xStart: the lowest-addressed free block of at
    // least `want` bytes.
    const std::optional<FreeBlockIndex::Entry> fit = free_index_.first_at_least(want);
    if (!fit)
        return std::nullopt; // reached pxEnd
    const std::uint32_t cur = fit->slot;
    const std::uint32_t previous = blocks_[cur].prev_free;

    const std::uint32_t following = blocks_[cur].next_free;
    (previous == kNoBlock ? first_free_ : blocks_[previous].next_free) = following;
    if (following != kNoBlock)
        blocks_[following].prev_free = previous;
    const bool from_tail = blocks_[cur].next == kNoBlock;

    if (blocks_[cur].size - want > minimum_block_) {
        const std::uint32_t rest = blocks_.acquire(); // may move the storage
        Block& block = blocks_[cur];
        Block& remainder = blocks_[rest];
        remainder.offset = block.offset + want;
        remainder.size = block.size - want;
        remainder.prev = cur;
        remainder.next = block.next;
        if (remainder.next != kNoBlock)
            blocks_[remainder.next].prev = rest;
        block.next = rest;
        block.size = want;
        // The remainder lies between the previous and the next free block.
        remainder.prev_free = previous;
        remainder.next_free = following;
        (previous == kNoBlock ? first_free_ : blocks_[previous].next_free) = rest;
        if (following != kNoBlock)
            blocks_[following].prev_free = rest;
        // It takes the block's place in the index too.
        free_index_.replace(block.offset, remainder.offset, rest, remainder.size);
        footprint_ = std::max(footprint_, remainder.offset + link_bytes_);
    } else {
        free_index_.erase(blocks_[cur].offset);
    }

    Block& block = blocks_[cur];
    block.next_free = kNoBlock;
    block.prev_free = kNoBlock;
    block.allocated = true;
    free_bytes_remaining_ -= block.size;
    minimum_ever_free_ = std::min(minimum_ever_free_, free_bytes_remaining_);
    used_bytes_ += block.size;
    footprint_ = std::max(footprint_, block.offset + block.size);

    if (from_tail && !pool_size_) {
        pool_end_.reach(block.offset + want);
        if (block.prev != kNoBlock && blocks_[block.prev].allocated &&
            blocks_[block.prev].carved_from_tail)
            pool_end_.forbid(block.offset, block.offset + minimum_block_ + align_);
    }
    block.carved_from_tail = from_tail;
    index_.insert(block.offset + header_, cur);
    return block.offset + header_;
}

void FreertosHeap4Model::release(std::uint64_t offset) {
    const std::uint32_t slot = index_.erase(offset);
    assert(slot != OffsetIndex::npos && "release of an offset that is not live");
    if (slot == OffsetIndex::npos)
        return;
    {
        Block& block = blocks_[slot];
        block.allocated = false;
        block.carved_from_tail = false;
        free_bytes_remaining_ += block.size;
        used_bytes_ -= block.size;
    }

    // prvInsertBlockIntoFreeList walks the list for the last free block below
    // this one; a free physical neighbour tells the same without the walk.
    std::uint32_t iterator = kNoBlock; // kNoBlock stands for xStart
    std::uint32_t following = first_free_;
    const std::uint32_t before_slot = blocks_[slot].prev;
    const std::uint32_t after_slot = blocks_[slot].next;
    if (before_slot != kNoBlock && !blocks_[before_slot].allocated) {
        iterator = before_slot;
        following = blocks_[before_slot].next_free;
    } else if (after_slot != kNoBlock && !blocks_[after_slot].allocated) {
        iterator = blocks_[after_slot].prev_free;
        following = after_slot;
    } else if (const auto before = free_index_.last_before(blocks_[slot].offset)) {
        iterator = before->slot;
        following = blocks_[iterator].next_free;
    }

    std::uint32_t inserted = slot;
    if (iterator != kNoBlock &&
        blocks_[iterator].offset + blocks_[iterator].size == blocks_[slot].offset) {
        Block& before = blocks_[iterator];
        before.size += blocks_[slot].size;
        before.next = blocks_[slot].next;
        if (before.next != kNoBlock)
            blocks_[before.next].prev = iterator;
        blocks_.release(slot);
        inserted = iterator;
    }

    Block& block = blocks_[inserted];
    // The index entry of a following block this one absorbs, if any.
    std::optional<std::uint64_t> absorbed_key;
    if (following != kNoBlock && block.offset + block.size == blocks_[following].offset) {
        const Block& after = blocks_[following];
        absorbed_key = after.offset;
        block.size += after.size;
        block.next_free = after.next_free;
        block.next = after.next;
        if (block.next != kNoBlock)
            blocks_[block.next].prev = inserted;
        if (block.next_free != kNoBlock)
            blocks_[block.next_free].prev_free = inserted;
        blocks_.release(following);
    } else {
        block.next_free = following;
        if (following != kNoBlock)
            blocks_[following].prev_free = inserted;
    }
    if (iterator != inserted) {
        (iterator == kNoBlock ? first_free_ : blocks_[iterator].next_free) = inserted;
        block.prev_free = iterator;
        // An absorbed block's entry is next to this one's place: it moves there.
        if (absorbed_key)
            free_index_.replace(*absorbed_key, block.offset, inserted, block.size);
        else
            free_index_.insert(block.offset, inserted, block.size);
    } else {
        if (absorbed_key)
            free_index_.erase(*absorbed_key);
        free_index_.update(block.offset, inserted, block.size);
    }
}

std::uint64_t FreertosHeap4Model::min_pool_after_replay() const {
    if (pool_size_)
        return footprint_; // meaningful after an unbounded replay only
    const std::uint64_t end = pool_end_.smallest();
    return end == 0 ? 0 : end + header_;
}

std::optional<std::uint64_t> FreertosHeap4Model::largest_pool() const {
    if (pointer_size_ == 4)
        return UINT32_MAX;
    return std::nullopt;
}

template <class Visit>
void FreertosHeap4Model::for_each_free_part_below_footprint(Visit visit) const {
    for (std::uint32_t slot = first_free_; slot != kNoBlock; slot = blocks_[slot].next_free) {
        const Block& block = blocks_[slot];
        if (block.offset >= footprint_)
            break;
        visit(std::min(block.offset + block.size, footprint_) - block.offset);
    }
}

// The last block of the heap (the one ending at pxEnd), when it is free.
std::optional<FreeBlockIndex::Entry> FreertosHeap4Model::free_tail() const {
    const auto last = free_index_.last_before(UINT64_MAX);
    if (last && last->key + last->size == heap_end_)
        return last;
    return std::nullopt;
}

// Every block but the last lies below the footprint: a block ends where a
// split once wrote the next BlockLink_t, and the footprint covers it. Every
// free block holds more than its header (the smallest is header + alignment),
// so the free bytes below the footprint are the listed blocks less their
// headers, the last block clipped at the footprint.
std::uint64_t FreertosHeap4Model::free_bytes_below_footprint() const {
    const auto tail = free_tail();
    const std::uint64_t whole = free_index_.size() - (tail ? 1 : 0);
    std::uint64_t total = free_index_.total() - (tail ? tail->size : 0) - whole * header_;
    if (tail && tail->key < footprint_) {
        const std::uint64_t clipped = std::min(tail->key + tail->size, footprint_) - tail->key;
        if (clipped > header_)
            total += clipped - header_;
    }
    return total;
}

std::uint64_t FreertosHeap4Model::largest_free_block_below_footprint() const {
    const auto tail = free_tail();
    std::uint64_t largest = tail ? free_index_.largest_except(tail->key) : free_index_.largest();
    if (tail && tail->key < footprint_)
        largest = std::max(largest, std::min(tail->key + tail->size, footprint_) - tail->key);
    // A block of s bytes serves n when roundup(n + header, align) <= s.
    const std::uint64_t usable = largest & ~(align_ - 1);
    return usable > header_ ? usable - header_ : 0;
}

// vPortGetHeapStats() (FreeRTOS-Kernel portable/MemMang/heap_4.c, read in a
// V10.x and a V11.x copy, which agree): xAvailableHeapSpaceInBytes is xFreeBytesRemaining, and
// xSizeOfLargestFreeBlockInBytes the largest xBlockSize on the free list, both
// with the BlockLink_t headers in. On a bounded heap the tail block already
// runs to pxEnd, so the part beyond footprint() is in it.
HeapFigures FreertosHeap4Model::heap_figures() const {
    HeapFigures figures;
    if (!heap_ready_)
        return figures;
    figures.free_bytes = free_bytes_remaining_;
    figures.largest_free_block = free_index_.largest();
    // Block sizes are multiples of portBYTE_ALIGNMENT: a block of s bytes
    // serves n when roundup(n + header, align) <= s, i.e. n <= s - header.
    if (figures.largest_free_block > header_)
        figures.largest_request = figures.largest_free_block - header_;
    return figures;
}

std::string FreertosHeap4Model::heap_figures_source() const {
    return "xPortGetHeapStats: xAvailableHeapSpaceInBytes, xSizeOfLargestFreeBlockInBytes "
           "(headers included)";
}

std::vector<std::pair<std::string, std::uint64_t>> FreertosHeap4Model::statistics() const {
    // xPortGetMinimumEverFreeHeapSize(); it depends on the heap size, so an
    // unbounded replay has none to report.
    if (!pool_size_ || !heap_ready_)
        return {};
    return {{"minimum_ever_free", minimum_ever_free_}};
}

std::string FreertosHeap4Model::verify() const {
    if (!heap_ready_)
        return index_.size() == 0 ? "" : "blocks handed out from a heap too small to initialise";

    std::uint64_t blocks = 0, free_blocks = 0, allocated = 0, free_bytes = 0, used = 0;
    std::uint64_t expected_offset = skip_;
    std::uint32_t prev = kNoBlock;
    for (std::uint32_t slot = first_block_; slot != kNoBlock; slot = blocks_[slot].next) {
        const Block& block = blocks_[slot];
        const std::string at = " at offset " + std::to_string(block.offset);
        if (++blocks > blocks_.in_use())
            return "block chain loops" + at;
        if (block.offset != expected_offset)
            return "block chain has a gap or overlap" + at;
        if (block.prev != prev)
            return "prev link does not point at the previous block" + at;
        if (block.size == 0 || block.size % align_ != 0)
            return "block size " + std::to_string(block.size) + " not a positive multiple of " +
                   std::to_string(align_) + at;
        if (block.allocated) {
            ++allocated;
            used += block.size;
            if (block.next_free != kNoBlock || block.prev_free != kNoBlock)
                return "allocated block has a free-list link" + at;
            if (block.size < header_ + align_)
                return "allocated block smaller than header + alignment" + at;
            if (index_.find(block.offset + header_) != slot)
                return "allocated block missing from the offset index" + at;
        } else {
            ++free_blocks;
            free_bytes += block.size;
            if (prev != kNoBlock && !blocks_[prev].allocated)
                return "two adjacent free blocks" + at;
        }
        expected_offset = block.offset + block.size;
        prev = slot;
    }
    if (expected_offset != heap_end_)
        return "blocks end at " + std::to_string(expected_offset) + ", pxEnd at " +
               std::to_string(heap_end_);
    if (blocks != blocks_.in_use())
        return "block storage holds blocks outside the chain";
    if (allocated != index_.size())
        return "offset index out of step with the allocated blocks";
    if (free_bytes != free_bytes_remaining_)
        return "xFreeBytesRemaining " + std::to_string(free_bytes_remaining_) +
               " but free blocks hold " + std::to_string(free_bytes);
    if (minimum_ever_free_ > free_bytes_remaining_)
        return "minimum ever free above the free bytes remaining";
    if (used != used_bytes_)
        return "used bytes out of step with the allocated blocks";

    std::uint64_t listed = 0;
    std::uint64_t last_offset = 0;
    std::uint32_t before = kNoBlock;
    for (std::uint32_t slot = first_free_; slot != kNoBlock; slot = blocks_[slot].next_free) {
        const Block& block = blocks_[slot];
        if (++listed > free_blocks)
            return "free list longer than the free blocks (loop or stray entry)";
        if (block.prev_free != before)
            return "free list back link broken at offset " + std::to_string(block.offset);
        before = slot;
        if (block.allocated)
            return "allocated block in the free list at offset " + std::to_string(block.offset);
        if (listed > 1 && block.offset <= last_offset)
            return "free list not in address order at offset " + std::to_string(block.offset);
        last_offset = block.offset;
    }
    if (listed != free_blocks)
        return std::to_string(free_blocks - listed) + " free blocks missing from the free list";
    return verify_free_index();
}

// The index holds the free list with each block's size, and the figures it
// gives are those of a walk over the free list.
std::string FreertosHeap4Model::verify_free_index() const {
    const auto differs = free_index_.first_difference(
        first_free_, kNoBlock, [&](std::uint32_t slot) { return blocks_[slot].next_free; },
        [&](std::uint32_t slot) {
            return FreeBlockIndex::Entry{blocks_[slot].offset, slot, blocks_[slot].size};
        });
    if (differs == kNoBlock)
        return "free-list index holds blocks that are not in the free list";
    if (differs)
        return "free-list index out of step with the free list at offset " +
               std::to_string(blocks_[*differs].offset);
    std::uint64_t total = 0, largest = 0;
    for_each_free_part_below_footprint([&](std::uint64_t bytes) {
        if (bytes > header_)
            total += bytes - header_;
        const std::uint64_t usable = bytes & ~(align_ - 1);
        if (usable > header_)
            largest = std::max(largest, usable - header_);
    });
    if (total != free_bytes_below_footprint() || largest != largest_free_block_below_footprint())
        return "free space below the footprint differs from the free list's";
    return "";
}

bool FreertosHeap4Model::append_state(std::vector<std::uint64_t>& out) const {
    out.insert(out.end(), {heap_ready_, heap_end_, free_bytes_remaining_, minimum_ever_free_,
                           used_bytes_, footprint_});
    for (std::uint32_t slot = first_block_; slot != kNoBlock; slot = blocks_[slot].next) {
        const Block& block = blocks_[slot];
        out.insert(out.end(),
                   {block.offset, block.size,
                    std::uint64_t{block.allocated} | std::uint64_t{block.carved_from_tail} << 1});
    }
    out.push_back(UINT64_MAX);
    for (std::uint32_t slot = first_free_; slot != kNoBlock; slot = blocks_[slot].next_free)
        out.push_back(blocks_[slot].offset);
    out.push_back(UINT64_MAX);
    pool_end_.append_state(out);
    return true;
}

} // namespace tlsheap::replay
