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
        return; // no working heap (see the header); every malloc fails
    numblocks_ = static_cast<unsigned>(blocks);
    heap_.assign(numblocks_, Header{});
    const std::uint16_t last = static_cast<std::uint16_t>(numblocks_ - 1);
    nblock(0) = 1;
    nfree(0) = 1;
    pfree(0) = 1;
    nblock(1) = last | kFreeFlag;
    pblock(last) = 1;
    list_key_.assign(numblocks_, 0);
    list_key_[1] = next_head_key_;
    index_free(1);
    footprint_blocks_ = 1; // block 0, the free-list head
}

std::string UmmModel::description() const {
    std::string text = std::string("umm (umm_malloc, ") + (best_fit_ ? "best" : "first") +
                       " fit, 8-byte blocks, 4-byte header, heap ";
    text += pool_size_ ? std::to_string(*pool_size_) + " B"
                       : "unbounded: the largest, " + std::to_string(kMaxBlocks) + " blocks";
    if (!heap_.empty())
        return text + ")";
    if (*pool_size_ / kBlockSize < kMinBlocks)
        return text + ", fewer than 3 blocks: no block to hand out (under 2, umm_init_heap "
                      "writes past the heap): every malloc fails)";
    return text + ", more than 32768 blocks: block numbers past 32767 do not fit umm's 15 bits "
                  "(umm_init_heap does not check; the real heap would be corrupt): not modelled, "
                  "every malloc fails)";
}

void UmmModel::disconnect_from_free_list(std::uint16_t block) {
    unindex_free(block);
    nfree(pfree(block)) = nfree(block);
    pfree(nfree(block)) = pfree(block);
    nblock(block) &= static_cast<std::uint16_t>(~kFreeFlag);
}

void UmmModel::assimilate_up(std::uint16_t block) {
    const std::uint16_t next = nblock(block);
    if ((nblock(next) & kFreeFlag) == 0)
        return;
    disconnect_from_free_list(next);
    const std::uint16_t after = nblock(next) & kNumberMask;
    pblock(after) = block;
    nblock(block) = after;
}

std::optional<std::uint64_t> UmmModel::allocate(std::uint64_t size) {
    if (heap_.empty() || size == 0)
        return std::nullopt;
    const std::uint16_t blocks = umm_blocks(size);

    // umm_malloc_core's walk over the free list, through its index. (When
    // nothing fits, the real walk ends on block 0 and the size check after it
    // fails: NULL.)
    const std::optional<FreeBlockIndex::Entry> fit =
        best_fit_ ? free_index_.first_from(std::uint64_t{blocks} << 48)
                  : free_index_.first_at_least(blocks);
    if (!fit)
        return std::nullopt;
    const std::uint16_t cf = static_cast<std::uint16_t>(fit->slot);
    const std::uint16_t block_size = static_cast<std::uint16_t>(fit->size);

    if (block_size == blocks) {
        disconnect_from_free_list(cf);
    } else {
        const std::uint64_t old_key = index_key(cf, block_size);
        // umm_split_block: the rest becomes a free block right after ours ...
        const std::uint16_t rest = static_cast<std::uint16_t>(cf + blocks);
        const std::uint16_t after = nblock(cf) & kNumberMask;
        nblock(rest) = after | kFreeFlag;
        pblock(rest) = cf;
        pblock(after) = rest;
        nblock(cf) = rest;
        // ... and takes our place in the free list.
        nfree(pfree(cf)) = rest;
        pfree(rest) = pfree(cf);
        pfree(nfree(cf)) = rest;
        nfree(rest) = nfree(cf);
        list_key_[rest] = list_key_[cf];
        reindex_free(old_key, rest);
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
        const std::uint64_t old_key = index_key(prev, size_of(prev));
        nblock(prev) = nblock(c) | kFreeFlag;
        pblock(nblock(c)) = prev;
        reindex_free(old_key, prev);
    } else {
        pfree(nfree(0)) = c;
        nfree(c) = nfree(0);
        pfree(c) = 0;
        nfree(0) = c;
        nblock(c) |= kFreeFlag;
        list_key_[c] = --next_head_key_;
        index_free(c);
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

// Every block but the top one (the block before the last, which ends the
// heap) lies below the footprint: a block starts where a split once wrote its
// header, and the footprint covers that header. So the free parts below the
// footprint are the listed blocks, the top one clipped (or left out whole
// before the first allocation, when it starts at the footprint).
std::uint64_t UmmModel::top_part_beyond_footprint() const {
    const std::uint16_t top = heap_[last_block()].prev;
    if ((nblock(top) & kFreeFlag) == 0)
        return 0;
    const std::uint64_t from = std::max<std::uint64_t>(top, footprint_blocks_);
    return from < last_block() ? last_block() - from : 0;
}

std::uint64_t UmmModel::free_bytes_below_footprint() const {
    if (heap_.empty())
        return 0;
    const std::uint16_t top = heap_[last_block()].prev;
    const bool top_left_out = (nblock(top) & kFreeFlag) != 0 && top >= footprint_blocks_;
    // Each free part counts its blocks less one 4-byte header.
    const std::uint64_t parts = free_index_.size() - (top_left_out ? 1 : 0);
    return (free_index_.total() - top_part_beyond_footprint()) * kBlockSize - 4 * parts;
}

std::uint64_t UmmModel::largest_free_block_below_footprint() const {
    if (heap_.empty())
        return 0;
    const std::uint16_t top = heap_[last_block()].prev;
    std::uint64_t largest_blocks = free_index_.largest();
    if (nblock(top) & kFreeFlag)
        largest_blocks = std::max(free_index_.largest_except(index_key(top, size_of(top))),
                                  size_of(top) - top_part_beyond_footprint());
    // blocks(n) <= k exactly when n <= 8k - 4.
    return largest_blocks == 0 ? 0 : largest_blocks * kBlockSize - 4;
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
    const std::uint64_t largest_blocks = free_index_.largest();
    figures.free_bytes = free_index_.total() * kBlockSize;
    figures.largest_free_block = largest_blocks * kBlockSize;
    figures.largest_request = largest_blocks == 0 ? 0 : largest_blocks * kBlockSize - 4;
    return figures;
}

std::string UmmModel::heap_figures_source() const {
    return "umm_free_heap_size, umm_max_free_block_size (umm_info, in bytes of 8-byte blocks, "
           "headers included)";
}

// The index holds the free list, its keys in list order with each block's
// size, and the figures it gives are those of walks over the blocks. (Called
// once the free list itself has been checked.)
std::string UmmModel::verify_free_index() const {
    std::vector<FreeBlockIndex::Entry> listed;
    for (unsigned block = heap_[0].next_free; block != 0; block = heap_[block].next_free) {
        const auto b = static_cast<std::uint16_t>(block);
        if (!listed.empty() && list_key_[b] <= list_key_[listed.back().slot])
            return "free-list keys out of list order at block " + std::to_string(block);
        listed.push_back({index_key(b, size_of(b)), b, size_of(b)});
    }
    std::sort(listed.begin(), listed.end(),
              [](const FreeBlockIndex::Entry& a, const FreeBlockIndex::Entry& b) {
                  return a.key < b.key;
              });
    std::size_t i = 0;
    bool same = listed.size() == free_index_.size();
    free_index_.for_each([&](const FreeBlockIndex::Entry& e) {
        same = same && i < listed.size() && listed[i].key == e.key && listed[i].slot == e.slot &&
               listed[i].size == e.size;
        ++i;
    });
    if (!same)
        return "free-list index out of step with the free list";

    std::uint64_t total = 0, largest = 0;
    for_each_free_part_below_footprint([&](std::uint64_t blocks) {
        total += blocks * kBlockSize - 4;
        largest = std::max(largest, blocks * kBlockSize - 4);
    });
    if (total != free_bytes_below_footprint() || largest != largest_free_block_below_footprint())
        return "free space below the footprint differs from the blocks'";
    std::uint64_t free_blocks = 0, largest_blocks = 0;
    for (unsigned c = heap_[0].next & kNumberMask; c != last_block();
         c = heap_[c].next & kNumberMask)
        if (heap_[c].next & kFreeFlag) {
            free_blocks += size_of(static_cast<std::uint16_t>(c));
            largest_blocks =
                std::max<std::uint64_t>(largest_blocks, size_of(static_cast<std::uint16_t>(c)));
        }
    const HeapFigures figures = heap_figures();
    if (figures.free_bytes != free_blocks * kBlockSize ||
        figures.largest_free_block != largest_blocks * kBlockSize)
        return "heap figures differ from the blocks'";
    return "";
}

std::string UmmModel::verify() const {
    if (heap_.empty())
        return live_blocks_ == 0 ? "" : "blocks handed out from a heap that cannot work";
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
    if (const std::string problem = verify_free_index(); !problem.empty())
        return problem;
    if (footprint_blocks_ > numblocks_)
        return "footprint beyond the heap";
    return "";
}

bool UmmModel::append_state(std::vector<std::uint64_t>& out) const {
    out.insert(out.end(), {numblocks_, used_blocks_, live_blocks_, footprint_blocks_});
    if (heap_.empty())
        return true;
    // umm reads a header only where a block starts: the chain from block 0
    // to the last, then the free list from block 0 in its order.
    const unsigned last = numblocks_ - 1;
    for (unsigned c = 0;; c = heap_[c].next & kNumberMask) {
        const Header& h = heap_[c];
        // The free links of a used block are left-overs umm never reads.
        const bool listed = c == 0 || (h.next & kFreeFlag) != 0;
        out.push_back(std::uint64_t{c} << 48 | std::uint64_t{h.next} << 32 |
                      std::uint64_t{h.prev} << 16 | (listed ? h.prev_free : 0u));
        if (c == last || (heap_[c].next & kNumberMask) <= c)
            break;
    }
    for (unsigned entry = heap_[0].next_free; entry != 0; entry = heap_[entry].next_free)
        out.push_back(entry);
    out.push_back(UINT64_MAX);
    return true;
}

} // namespace tlsheap::replay
