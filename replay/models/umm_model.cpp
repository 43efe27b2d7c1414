#include "umm_model.h"

#include <algorithm>
#include <cassert>

namespace tlsheap::replay {

namespace {

std::uint16_t umm_blocks(std::uint64_t size) {
    if (size <= 4)
        return 1;
    const std::uint64_t blocks = 2 + (size - 5) / UmmModel::kBlockSize;
    return static_cast<std::uint16_t>(std::min<std::uint64_t>(blocks, 0x7FFF));
}

} // namespace

UmmModel::UmmModel(const Config& config)
    : best_fit_(config.best_fit), pool_size_(config.pool_size) {
    // Unbounded: the largest heap umm can index.
    const std::uint64_t blocks = pool_size_ ? *pool_size_ / kBlockSize : std::uint64_t{kMaxBlocks};
    if (blocks < kMinBlocks || blocks > kMaxBlocks)
        return; // umm_init_heap refuses the heap; every malloc fails
    numblocks_ = static_cast<unsigned>(blocks);
    heap_.assign(numblocks_, Header{});
    const std::uint16_t last = static_cast<std::uint16_t>(numblocks_ - 1);
    nblock(0) = 1;
    nfree(0) = 1;
    pfree(0) = 1;
    nblock(1) = last | kFreeFlag;
    pblock(last) = 1;
    free_order_.push_back(entry(1, static_cast<std::uint16_t>(last - 1)));
    footprint_blocks_ = 1; // block 0, the free-list head
}

std::string UmmModel::description() const {
    std::string text = std::string("umm (umm_malloc, ") + (best_fit_ ? "best" : "first") +
                       " fit, 8-byte blocks, 4-byte header, heap ";
    text +=
        pool_size_ ? std::to_string(*pool_size_) + " B" : "unbounded: the largest, 32767 blocks";
    return text + (heap_.empty() ? ", refused by umm_init_heap: every malloc fails)" : ")");
}

std::size_t UmmModel::position_of(std::uint16_t block) const {
    std::size_t i = 0;
    while ((free_order_[i] >> 16) != block)
        ++i;
    return i;
}

void UmmModel::disconnect_from_free_list(std::uint16_t block, std::size_t position) {
    free_order_.erase(free_order_.begin() + static_cast<std::ptrdiff_t>(position));
    nfree(pfree(block)) = nfree(block);
    pfree(nfree(block)) = pfree(block);
    nblock(block) &= static_cast<std::uint16_t>(~kFreeFlag);
}

void UmmModel::assimilate_up(std::uint16_t block) {
    const std::uint16_t next = nblock(block);
    if ((nblock(next) & kFreeFlag) == 0)
        return;
    disconnect_from_free_list(next, position_of(next));
    const std::uint16_t after = nblock(next) & kNumberMask;
    pblock(after) = block;
    nblock(block) = after;
}

std::optional<std::uint64_t> UmmModel::allocate(std::uint64_t size) {
    if (heap_.empty() || size == 0)
        return std::nullopt;
    const std::uint16_t blocks = umm_blocks(size);

    // umm_malloc_core's walk over the free list, on its contiguous copy. (When
    // nothing fits, the real walk ends on block 0 and the size check after it
    // fails: NULL.)
    std::size_t best = free_order_.size();
    if (best_fit_) {
        // The smallest size that fits, the first in list order among equals:
        // the smallest (size << 16 | position), computed without branches.
        std::uint32_t best_key = UINT32_MAX;
        const std::uint32_t* entries = free_order_.data();
        const std::uint32_t count = static_cast<std::uint32_t>(free_order_.size());
        for (std::uint32_t i = 0; i < count; ++i) {
            const std::uint32_t size = entries[i] & 0xFFFF;
            const std::uint32_t too_small = 0u - static_cast<std::uint32_t>(size < blocks);
            const std::uint32_t key = (size << 16 | i) | too_small;
            best_key = key < best_key ? key : best_key;
        }
        if (best_key != UINT32_MAX)
            best = best_key & 0xFFFF;
    } else {
        for (std::size_t i = 0; i < free_order_.size(); ++i)
            if ((free_order_[i] & 0xFFFF) >= blocks) {
                best = i;
                break;
            }
    }
    if (best == free_order_.size())
        return std::nullopt;
    const std::uint16_t cf = static_cast<std::uint16_t>(free_order_[best] >> 16);
    const std::uint16_t block_size = static_cast<std::uint16_t>(free_order_[best] & 0xFFFF);

    if (block_size == blocks) {
        disconnect_from_free_list(cf, best);
    } else {
        // umm_split_block: the rest becomes a free block right after ours ...
        const std::uint16_t rest = static_cast<std::uint16_t>(cf + blocks);
        const std::uint16_t after = nblock(cf) & kNumberMask;
        nblock(rest) = after | kFreeFlag;
        pblock(rest) = cf;
        pblock(after) = rest;
        nblock(cf) = rest;
        // ... and takes our place in the free list.
        free_order_[best] = entry(rest, static_cast<std::uint16_t>(block_size - blocks));
        nfree(pfree(cf)) = rest;
        pfree(rest) = pfree(cf);
        pfree(nfree(cf)) = rest;
        nfree(rest) = nfree(cf);
    }
    used_blocks_ += blocks;
    ++live_blocks_;
    footprint_blocks_ = std::max<std::uint64_t>(footprint_blocks_, cf + blocks + 1u);
    return kBlockSize * cf + 4;
}

void UmmModel::release(std::uint64_t offset) {
    const std::uint64_t number = offset / kBlockSize;
    const bool valid = !heap_.empty() && offset % kBlockSize == 4 && number >= 1 &&
                       number + 1 < numblocks_ &&
                       (nblock(static_cast<std::uint16_t>(number)) & kFreeFlag) == 0;
    std::uint16_t c = static_cast<std::uint16_t>(number);
    const bool block_start =
        valid && heap_[nblock(c) & kNumberMask].prev == c && (nblock(pblock(c)) & kNumberMask) == c;
    assert(block_start && "release of an offset that is not live");
    if (!block_start)
        return;
    used_blocks_ -= nblock(c) - c;
    --live_blocks_;

    assimilate_up(c);
    const std::uint16_t prev = pblock(c);
    if (nblock(prev) & kFreeFlag) {
        // umm_assimilate_down: the previous block keeps its list slot.
        nblock(prev) = nblock(c) | kFreeFlag;
        pblock(nblock(c)) = prev;
        free_order_[position_of(prev)] =
            entry(prev, static_cast<std::uint16_t>((nblock(prev) & kNumberMask) - prev));
    } else {
        free_order_.insert(free_order_.begin(),
                           entry(c, static_cast<std::uint16_t>(nblock(c) - c)));
        pfree(nfree(0)) = c;
        nfree(c) = nfree(0);
        pfree(c) = 0;
        nfree(0) = c;
        nblock(c) |= kFreeFlag;
    }
}

template <class Visit>
void UmmModel::for_each_free_part_below_footprint(Visit visit) const {
    if (heap_.empty())
        return;
    for (std::uint16_t c = nblock(0) & kNumberMask; c != 0 && c + 1u < numblocks_;
         c = nblock(c) & kNumberMask) {
        if (c >= footprint_blocks_)
            break;
        if (nblock(c) & kFreeFlag) {
            const std::uint64_t end =
                std::min<std::uint64_t>(nblock(c) & kNumberMask, footprint_blocks_);
            visit(end - c);
        }
    }
}

std::uint64_t UmmModel::free_bytes_below_footprint() const {
    std::uint64_t total = 0;
    for_each_free_part_below_footprint(
        [&](std::uint64_t blocks) { total += blocks * kBlockSize - 4; });
    return total;
}

std::uint64_t UmmModel::largest_free_block_below_footprint() const {
    std::uint64_t largest = 0;
    // blocks(n) <= k exactly when n <= 8k - 4.
    for_each_free_part_below_footprint(
        [&](std::uint64_t blocks) { largest = std::max(largest, blocks * kBlockSize - 4); });
    return largest;
}

// umm_free_heap_size() and umm_max_free_block_size() (rhempel/umm_malloc
// src/umm_info.c, v2.x; the ESP8266 core's copy computes them the same way):
// umm_info() walks the blocks from block 1 up to the last one, which ends the
// heap and is not counted, summing freeBlocks and keeping
// maxFreeContiguousBlocks, each times sizeof(umm_block), so the 4-byte header
// of every free block is counted in. A free run of k blocks serves requests
// up to 8k - 4 bytes (blocks(n) <= k). On a bounded heap the last free block
// runs to the end, so the untouched tail is in it.
HeapFigures UmmModel::heap_figures() const {
    HeapFigures figures;
    if (heap_.empty())
        return figures;
    std::uint64_t free_blocks = 0, largest_blocks = 0;
    for (unsigned c = nblock(0) & kNumberMask; c != 0 && c + 1u < numblocks_;
         c = nblock(static_cast<std::uint16_t>(c)) & kNumberMask) {
        const std::uint16_t next = nblock(static_cast<std::uint16_t>(c));
        if (next & kFreeFlag) {
            const std::uint64_t blocks = (next & kNumberMask) - c;
            free_blocks += blocks;
            largest_blocks = std::max(largest_blocks, blocks);
        }
    }
    figures.free_bytes = free_blocks * kBlockSize;
    figures.largest_free_block = largest_blocks * kBlockSize;
    figures.largest_request = largest_blocks == 0 ? 0 : largest_blocks * kBlockSize - 4;
    return figures;
}

std::string UmmModel::heap_figures_source() const {
    return "umm_free_heap_size, umm_max_free_block_size (umm_info, in bytes of 8-byte blocks, "
           "headers included)";
}

std::string UmmModel::verify() const {
    if (heap_.empty())
        return live_blocks_ == 0 ? "" : "blocks handed out from a heap umm_init_heap refused";
    const unsigned last = numblocks_ - 1;
    if ((nblock(0) & kFreeFlag) != 0 || heap_[last].next != 0)
        return "the head or the last block is marked free or linked on";

    std::uint64_t free_blocks = 0, allocated = 0, allocated_blocks = 0;
    unsigned c = 0;
    bool previous_free = false;
    while (c != last) {
        const unsigned next = nblock(static_cast<std::uint16_t>(c)) & kNumberMask;
        const std::string at = " at block " + std::to_string(c);
        if (next <= c || next > last)
            return "next block number out of order" + at;
        if (heap_[next].prev != c)
            return "prev block number does not point back" + at;
        if (c != 0) {
            const bool is_free = nblock(static_cast<std::uint16_t>(c)) & kFreeFlag;
            if (is_free) {
                ++free_blocks;
                if (previous_free)
                    return "two consecutive free blocks" + at;
            } else {
                ++allocated;
                allocated_blocks += next - c;
            }
            previous_free = is_free;
        }
        c = next;
    }
    if (allocated != live_blocks_ || allocated_blocks != used_blocks_)
        return "used blocks out of step with the heap";

    std::uint64_t listed = 0;
    unsigned before = 0;
    for (unsigned entry = heap_[0].next_free; entry != 0; entry = heap_[entry].next_free) {
        if (++listed > free_blocks)
            return "free list longer than the free blocks (loop or stray entry)";
        if (entry >= last || (heap_[entry].next & kFreeFlag) == 0)
            return "free list holds a used block " + std::to_string(entry);
        if (heap_[entry].prev_free != before)
            return "prev free link broken at block " + std::to_string(entry);
        before = entry;
    }
    if (listed != free_blocks)
        return "free blocks missing from the free list";
    std::size_t position = 0;
    for (unsigned entry = heap_[0].next_free; entry != 0;
         entry = heap_[entry].next_free, ++position)
        if (position >= free_order_.size() ||
            free_order_[position] !=
                UmmModel::entry(
                    static_cast<std::uint16_t>(entry),
                    static_cast<std::uint16_t>((heap_[entry].next & kNumberMask) - entry)))
            return "the contiguous copy of the free list differs at position " +
                   std::to_string(position);
    if (position != free_order_.size())
        return "the contiguous copy of the free list is longer than the list";
    if (footprint_blocks_ > numblocks_)
        return "footprint beyond the heap";
    return "";
}

} // namespace tlsheap::replay
