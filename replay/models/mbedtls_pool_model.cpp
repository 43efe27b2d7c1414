#include "mbedtls_pool_model.h"

#include <algorithm>
#include <cassert>
#include <numeric>

// Minimum pool (min_pool_after_replay): the smallest `len` for
// mbedtls_memory_buffer_alloc_init with which the trace replays pointer for
// pointer as recorded by the unbounded replay. Worked out from the split rule:
//
// Unbounded, the pool is one huge block; call the last physical block the tail.
// The tail is always last in the free list: splitting it puts the remainder in
// its place, a block freed next to it is absorbed into the tail's place, and
// blocks pushed at the head go before it. So first fit reaches the tail only
// when no other free block fits, and a finite pool serves the trace the same
// way while every block carved from the tail fits: a carve whose header sits at
// T with rounded size n needs len >= E = T + header + n ("reach"). The split
// header after it need not fit: with len - E < header + align the real
// allocator hands the tail out whole, with the same pointer.
//
// A tail handed out whole is where a finite pool can part ways. While that
// block X is live there is no tail: a carve from the tail fails (it cannot
// happen for len >= every E, the next carve ends header + align beyond E). When
// X is freed the real allocator finds no free block after it: X merges into a
// free previous block, keeping that block's list place, or is pushed at the
// head of the list, whereas unbounded it would have joined the tail, last in
// the list. Unless the previous free block was last before the tail (or the
// list held the tail alone) the finite pool's list now has its tail block out
// of place. That matters only if a later first fit reaches that block before
// the block the unbounded replay chose; then the pointers differ, or the pool
// fails. The model follows every such pool size, len in [E, E + header +
// align), as a DivergentPools group (tail handed out / tail after block B in
// the list), updates the group through the list operations it mirrors, splits
// it where a block fits some of its lens and not others, drops lens whose
// replay parts ways (excluded), and drops the group when its list is the same
// as the unbounded one again.
//
// The result is the smallest len >= every reach that is not excluded. Every
// smaller len fails or places some block elsewhere. First fit is not monotone
// in the pool size: such a smaller len can still succeed with other pointers,
// and a slightly larger len can place blocks differently; only replaying that
// pool tells.

namespace tlsheap::replay {

namespace {

// Far beyond any trace, far below overflow when offsets and sizes are added.
constexpr std::uint64_t kUnboundedPool = std::uint64_t{1} << 62;

} // namespace

MbedtlsPoolModel::MbedtlsPoolModel(const Config& config)
    : header_((config.backtrace ? 10 : 8) * std::uint64_t{config.pointer_size}),
      align_(config.align), pointer_size_(config.pointer_size), backtrace_(config.backtrace),
      pool_size_(config.pool_size), size_max_(config.pointer_size == 4 ? UINT32_MAX : UINT64_MAX),
      // Offsets and sizes are all multiples of gcd(header, align), so lens
      // between two multiples of it compare alike against every threshold.
      pool_step_(std::gcd(header_, align_)) {
    const std::uint64_t len = pool_size_.value_or(kUnboundedPool);
    if (len < header_ + align_)
        return;
    heap_ready_ = true;
    first_block_ = blocks_.acquire();
    Block& first = blocks_[first_block_];
    first.offset = 0;
    first.size = len - header_;
    first_free_ = first_block_;
    last_block_ = first_block_;
    push_on_free_list_index(first_block_);
}

// A block pushed at the head of the free list comes before every listed one.
void MbedtlsPoolModel::push_on_free_list_index(std::uint32_t slot) {
    blocks_[slot].list_key = --next_head_key_;
    free_index_.insert(blocks_[slot].list_key, slot, blocks_[slot].size);
}

std::string MbedtlsPoolModel::description() const {
    std::string text = "mbedtls-pool (memory_buffer_alloc.c of mbedTLS 2.28/3.6, header " +
                       std::to_string(header_) + " B, align " + std::to_string(align_) + ", " +
                       (pointer_size_ == 4 ? "ILP32" : "LP64") + ", backtrace " +
                       (backtrace_ ? "on" : "off") + ", pool ";
    text += pool_size_ ? std::to_string(*pool_size_) + " B" : "unbounded";
    return text + (heap_ready_ ? ")" : ", refused by init: every calloc fails)");
}

std::optional<std::uint64_t> MbedtlsPoolModel::allocate(std::uint64_t size) {
    if (!heap_ready_ || size == 0 || size > size_max_ - align_)
        return std::nullopt;
    std::uint64_t len = size;
    if (len % align_ != 0)
        len += align_ - len % align_;
    if (!pool_size_ && len > kUnboundedPool / 4)
        return std::nullopt;

    // First fit in list order (buffer_alloc_calloc's walk from heap.first_free):
    // the first listed block of at least len bytes.
    const std::optional<FreeBlockIndex::Entry> fit = free_index_.first_at_least(len);
    if (!fit)
        return std::nullopt;
    const std::uint32_t cur = fit->slot;
    if (!divergent_.empty())
        check_divergent_pools_on_allocate(cur, len);

    const bool from_tail = blocks_[cur].next == kNoBlock;
    if (blocks_[cur].size - len < header_ + align_) {
        unlink_free(cur);
        Block& block = blocks_[cur];
        block.allocated = true;
        total_used_ += block.size;
        footprint_ = std::max(footprint_, block.offset + header_ + len);
    } else {
        const std::uint32_t rest = blocks_.acquire(); // may move the storage
        Block& block = blocks_[cur];
        Block& remainder = blocks_[rest];
        remainder.offset = block.offset + header_ + len;
        remainder.size = block.size - len - header_;
        remainder.prev = cur;
        remainder.next = block.next;
        if (remainder.next != kNoBlock)
            blocks_[remainder.next].prev = rest;
        // The remainder takes the block's place in the free list.
        remainder.prev_free = block.prev_free;
        remainder.next_free = block.next_free;
        remainder.list_key = block.list_key;
        free_index_.update(remainder.list_key, rest, remainder.size);
        if (remainder.prev_free != kNoBlock)
            blocks_[remainder.prev_free].next_free = rest;
        else
            first_free_ = rest;
        if (remainder.next_free != kNoBlock)
            blocks_[remainder.next_free].prev_free = rest;
        replaced_in_free_list(cur, rest);
        if (cur == last_block_)
            last_block_ = rest;
        block.allocated = true;
        block.size = len;
        block.next = rest;
        block.prev_free = kNoBlock;
        block.next_free = kNoBlock;
        ++header_count_;
        maximum_header_count_ = std::max(maximum_header_count_, header_count_);
        total_used_ += len;
        footprint_ = std::max(footprint_, remainder.offset + header_);
    }
    maximum_used_ = std::max(maximum_used_, total_used_);

    Block& block = blocks_[cur];
    block.carved_from_tail = from_tail;
    if (from_tail && !pool_size_) {
        pool_end_.reach(block.offset + header_ + len);
        std::erase_if(divergent_, [&](DivergentPools& group) {
            std::erase_if(group.lens, [&](std::uint64_t l) { return l < pool_end_.required(); });
            return group.lens.empty();
        });
    }
    used_bytes_ += header_ + block.size;
    index_.insert(block.offset + header_, cur);
    return block.offset + header_;
}

void MbedtlsPoolModel::unlink_free(std::uint32_t slot) {
    Block& block = blocks_[slot];
    free_index_.erase(block.list_key);
    for (DivergentPools& group : divergent_)
        if (!group.tail_handed_out && group.block == slot)
            group.block = block.prev_free;
    if (block.prev_free != kNoBlock)
        blocks_[block.prev_free].next_free = block.next_free;
    else
        first_free_ = block.next_free;
    if (block.next_free != kNoBlock)
        blocks_[block.next_free].prev_free = block.prev_free;
    block.prev_free = kNoBlock;
    block.next_free = kNoBlock;
}

// The divergent pools do to their lists what the unbounded replay does to its
// own; only the place of their tail block differs, so only the block it
// follows needs updating.
void MbedtlsPoolModel::replaced_in_free_list(std::uint32_t old_slot, std::uint32_t new_slot) {
    for (DivergentPools& group : divergent_)
        if (!group.tail_handed_out && group.block == old_slot)
            group.block = new_slot;
}

void MbedtlsPoolModel::pushed_on_free_list(std::uint32_t slot) {
    for (DivergentPools& group : divergent_)
        if (!group.tail_handed_out && group.block == kNoBlock)
            group.block = slot;
}

void MbedtlsPoolModel::exclude_pool(std::uint64_t len) {
    pool_end_.forbid(len, len + pool_step_);
}

bool MbedtlsPoolModel::tracked_or_excluded(std::uint64_t len) const {
    if (pool_end_.smallest_from(len) != len)
        return true;
    for (const DivergentPools& group : divergent_)
        if (std::find(group.lens.begin(), group.lens.end(), len) != group.lens.end())
            return true;
    return false;
}

// First fit chose `chosen` for a request of `len` bytes (rounded). Where does
// each divergent pool's first fit go?
void MbedtlsPoolModel::check_divergent_pools_on_allocate(std::uint32_t chosen, std::uint64_t len) {
    const bool tail_chosen = chosen == last_block_;
    std::vector<DivergentPools> handed_out; // new groups: the tail handed out whole
    for (DivergentPools& group : divergent_) {
        if (group.tail_handed_out) {
            // No tail block: what the unbounded replay carves from it fails.
            if (tail_chosen) {
                for (std::uint64_t l : group.lens)
                    exclude_pool(l);
                group.lens.clear();
            }
            continue;
        }
        // The displaced tail comes after group.block; first fit looks at it
        // before `chosen` if it passed group.block on the way, that is if
        // group.block is listed before `chosen`.
        const bool tail_first =
            group.block == kNoBlock || blocks_[group.block].list_key < blocks_[chosen].list_key;
        if (!tail_first)
            continue;
        // Where this pool's tail block (same start, ending at l) can take len.
        const std::uint64_t need = blocks_[last_block_].offset + header_ + len;
        DivergentPools whole{true, chosen, {}};
        std::erase_if(group.lens, [&](std::uint64_t l) {
            const bool fits = l >= need;
            if (fits != tail_chosen) { // fails, or takes the tail instead of `chosen`
                exclude_pool(l);
                return true;
            }
            if (tail_chosen && l - need < header_ + align_) {
                whole.lens.push_back(l);
                return true;
            }
            return false;
        });
        if (!whole.lens.empty())
            handed_out.push_back(std::move(whole));
    }
    std::erase_if(divergent_, [](const DivergentPools& group) { return group.lens.empty(); });
    for (DivergentPools& group : handed_out)
        divergent_.push_back(std::move(group));
}

// `slot` is about to be freed. A block handed out whole by some pools (or, for
// pools that have not diverged yet, any block carved from the tail with the
// tail still after it) goes back into their list somewhere other than last.
void MbedtlsPoolModel::check_divergent_pools_on_release(std::uint32_t slot) {
    const Block& block = blocks_[slot];
    const std::uint32_t tail = block.next;
    if (!block.carved_from_tail || tail != last_block_) {
        // Only a block right before the tail can have been handed out whole.
        assert(std::none_of(divergent_.begin(), divergent_.end(), [&](const DivergentPools& g) {
            return g.tail_handed_out && g.block == slot;
        }));
        return;
    }
    // Where the returned block lands in a pool that handed it out whole: after
    // the free block before it, which keeps its list place, or at the head.
    const bool previous_free = block.prev != kNoBlock && !blocks_[block.prev].allocated;
    const bool back_in_place =
        previous_free ? blocks_[block.prev].next_free == tail : first_free_ == tail;
    const std::uint32_t after = previous_free ? blocks_[block.prev].prev_free : kNoBlock;

    // Pools in step with the unbounded replay until now that handed it out whole.
    DivergentPools fresh{false, after, {}};
    if (!back_in_place) {
        const std::uint64_t end = block.offset + header_ + block.size;
        for (std::uint64_t l = end; l < end + header_ + align_; l += pool_step_)
            if (l >= pool_end_.required() && !tracked_or_excluded(l))
                fresh.lens.push_back(l);
    }
    for (DivergentPools& group : divergent_)
        if (group.tail_handed_out && group.block == slot) {
            if (back_in_place) {
                group.lens.clear(); // the same list again: in step from here on
            } else {
                group.tail_handed_out = false;
                group.block = after;
            }
        }
    std::erase_if(divergent_, [](const DivergentPools& group) { return group.lens.empty(); });
    if (!fresh.lens.empty())
        divergent_.push_back(std::move(fresh));
}

void MbedtlsPoolModel::release(std::uint64_t offset) {
    const std::uint32_t slot = index_.erase(offset);
    assert(slot != OffsetIndex::npos && "release of an offset that is not live");
    if (slot == OffsetIndex::npos)
        return;
    if (!pool_size_)
        check_divergent_pools_on_release(slot);

    std::uint32_t hdr = slot;
    {
        Block& block = blocks_[slot];
        block.allocated = false;
        block.carved_from_tail = false;
        total_used_ -= block.size;
        used_bytes_ -= header_ + block.size;
    }
    bool merged = false;

    const std::uint32_t prev = blocks_[hdr].prev;
    if (prev != kNoBlock && !blocks_[prev].allocated) {
        Block& block = blocks_[hdr];
        Block& before = blocks_[prev];
        --header_count_;
        before.size += header_ + block.size;
        before.next = block.next;
        if (before.next != kNoBlock)
            blocks_[before.next].prev = prev;
        if (hdr == last_block_)
            last_block_ = prev;
        free_index_.update(before.list_key, prev, before.size);
        blocks_.release(hdr);
        hdr = prev;
        merged = true;
    }

    const std::uint32_t next = blocks_[hdr].next;
    if (next != kNoBlock && !blocks_[next].allocated) {
        --header_count_;
        // Leave our own list place (if merged into a free block above) ...
        if (blocks_[hdr].prev_free != kNoBlock || blocks_[hdr].next_free != kNoBlock)
            unlink_free(hdr);
        Block& block = blocks_[hdr];
        Block& after = blocks_[next];
        block.size += header_ + after.size;
        block.next = after.next;
        // ... and take the absorbed block's.
        block.prev_free = after.prev_free;
        block.next_free = after.next_free;
        block.list_key = after.list_key;
        free_index_.update(block.list_key, hdr, block.size);
        if (block.prev_free != kNoBlock)
            blocks_[block.prev_free].next_free = hdr;
        else
            first_free_ = hdr;
        if (block.next_free != kNoBlock)
            blocks_[block.next_free].prev_free = hdr;
        if (block.next != kNoBlock)
            blocks_[block.next].prev = hdr;
        replaced_in_free_list(next, hdr);
        if (next == last_block_)
            last_block_ = hdr;
        blocks_.release(next);
        merged = true;
    }

    if (!merged) {
        Block& block = blocks_[hdr];
        block.next_free = first_free_;
        if (first_free_ != kNoBlock)
            blocks_[first_free_].prev_free = hdr;
        first_free_ = hdr;
        push_on_free_list_index(hdr);
        pushed_on_free_list(hdr);
    }
}

template <class Visit>
void MbedtlsPoolModel::for_each_free_part_below_footprint(Visit visit) const {
    for (std::uint32_t slot = first_block_; slot != kNoBlock; slot = blocks_[slot].next) {
        const Block& block = blocks_[slot];
        const std::uint64_t begin = block.offset + header_;
        if (begin >= footprint_)
            break;
        if (!block.allocated)
            visit(std::min(begin + block.size, footprint_) - begin);
    }
}

// Every block but the tail lies below the footprint: a block ends where a
// split once wrote the next header, and the footprint covers that header. So
// the free blocks below the footprint are the listed ones, the tail clipped.
std::uint64_t MbedtlsPoolModel::tail_part_below_footprint() const {
    const Block& tail = blocks_[last_block_];
    const std::uint64_t begin = tail.offset + header_;
    if (tail.allocated || begin >= footprint_)
        return 0;
    return std::min(begin + tail.size, footprint_) - begin;
}

std::uint64_t MbedtlsPoolModel::free_bytes_below_footprint() const {
    if (!heap_ready_)
        return 0;
    const Block& tail = blocks_[last_block_];
    return free_index_.total() - (tail.allocated ? 0 : tail.size) + tail_part_below_footprint();
}

std::uint64_t MbedtlsPoolModel::largest_free_block_below_footprint() const {
    if (!heap_ready_)
        return 0;
    const Block& tail = blocks_[last_block_];
    const std::uint64_t largest =
        std::max(tail.allocated ? free_index_.largest() : free_index_.largest_except(tail.list_key),
                 tail_part_below_footprint());
    // A block of s bytes serves any request that rounds up to at most s.
    return largest - largest % align_;
}

// memory_buffer_alloc.c has no call that reports free space (its status
// function prints what is used): these are tlsheap's figures. Free bytes are
// the free blocks' sizes, headers excluded; the largest free block is the
// largest request one of them serves, len = roundup(n, align) <= size. The
// tail block runs to the end of a bounded pool, so the untouched part is in it.
HeapFigures MbedtlsPoolModel::heap_figures() const {
    HeapFigures figures;
    if (!heap_ready_)
        return figures;
    figures.free_bytes = free_index_.total();
    figures.largest_free_block = free_index_.largest() - free_index_.largest() % align_;
    figures.largest_request = figures.largest_free_block;
    return figures;
}

std::string MbedtlsPoolModel::heap_figures_source() const {
    return "tlsheap's own (memory_buffer_alloc.c reports none): free block sizes without "
           "headers, the largest request one block serves";
}

std::vector<std::pair<std::string, std::uint64_t>> MbedtlsPoolModel::statistics() const {
    // mbedtls_memory_buffer_alloc_max_get() and the "total" that
    // mbedtls_memory_buffer_alloc_status() prints.
    return {{"max_used", maximum_used_},
            {"max_blocks", maximum_header_count_},
            {"max_total", maximum_header_count_ * header_ + maximum_used_}};
}

// The index holds the free list, in list order with each block's size, and
// the figures it gives are those of a walk over the blocks.
std::string MbedtlsPoolModel::verify_free_index() const {
    const auto differs = free_index_.first_difference(
        first_free_, kNoBlock, [&](std::uint32_t slot) { return blocks_[slot].next_free; },
        [&](std::uint32_t slot) {
            return FreeBlockIndex::Entry{blocks_[slot].list_key, slot, blocks_[slot].size};
        });
    if (differs == kNoBlock)
        return "free-list index holds blocks that are not in the free list";
    if (differs)
        return "free-list index out of step with the free list at offset " +
               std::to_string(blocks_[*differs].offset);
    std::uint64_t total = 0, largest = 0;
    for_each_free_part_below_footprint([&](std::uint64_t bytes) {
        total += bytes;
        largest = std::max(largest, bytes - bytes % align_);
    });
    if (total != free_bytes_below_footprint() || largest != largest_free_block_below_footprint())
        return "free space below the footprint differs from the blocks'";
    return "";
}

std::optional<std::uint64_t> MbedtlsPoolModel::largest_pool() const {
    if (pointer_size_ == 4)
        return UINT32_MAX;
    return std::nullopt;
}

std::string MbedtlsPoolModel::verify() const {
    if (!heap_ready_)
        return index_.size() == 0 ? "" : "blocks handed out from a pool that init refused";
    const std::uint64_t len = pool_size_.value_or(kUnboundedPool);

    std::uint64_t blocks = 0, free_blocks = 0, allocated = 0, used = 0;
    std::uint64_t expected_offset = 0;
    std::uint32_t prev = kNoBlock;
    std::uint32_t last = kNoBlock;
    for (std::uint32_t slot = first_block_; slot != kNoBlock; slot = blocks_[slot].next) {
        const Block& block = blocks_[slot];
        const std::string at = " at offset " + std::to_string(block.offset);
        if (++blocks > blocks_.in_use())
            return "block chain loops" + at;
        if (block.offset != expected_offset)
            return "block chain has a gap or overlap" + at;
        if (block.prev != prev)
            return "prev link does not point at the previous block" + at;
        if (block.offset + header_ > len || block.size > len - block.offset - header_)
            return "block runs past the pool end" + at;
        if (block.allocated) {
            ++allocated;
            used += block.size;
            if (block.prev_free != kNoBlock || block.next_free != kNoBlock)
                return "allocated block still linked in the free list" + at;
            if (index_.find(block.offset + header_) != slot)
                return "allocated block missing from the offset index" + at;
        } else {
            ++free_blocks;
            if (prev != kNoBlock && !blocks_[prev].allocated)
                return "two adjacent free blocks" + at;
            if (block.carved_from_tail)
                return "free block still marked as carved from the tail" + at;
        }
        expected_offset = block.offset + header_ + block.size;
        prev = slot;
        last = slot;
    }
    if (last != last_block_)
        return "the tail is not the last block of the chain";
    if (expected_offset != len)
        return "blocks end at " + std::to_string(expected_offset) + ", pool at " +
               std::to_string(len);
    if (allocated != index_.size())
        return "offset index holds " + std::to_string(index_.size()) + " blocks, heap " +
               std::to_string(allocated);
    if (blocks != blocks_.in_use())
        return "block storage holds blocks outside the chain";
    if (used != total_used_)
        return "total_used " + std::to_string(total_used_) + " but allocated blocks hold " +
               std::to_string(used);
    if (header_count_ != blocks - 1)
        return "header_count " + std::to_string(header_count_) + " but " + std::to_string(blocks) +
               " blocks";
    if (used_bytes_ != used + allocated * header_)
        return "used bytes out of step with the allocated blocks";

    std::uint64_t listed = 0;
    std::uint32_t before = kNoBlock;
    for (std::uint32_t slot = first_free_; slot != kNoBlock; slot = blocks_[slot].next_free) {
        const Block& block = blocks_[slot];
        if (++listed > free_blocks)
            return "free list longer than the free blocks (loop or stray entry)";
        if (block.allocated)
            return "allocated block in the free list at offset " + std::to_string(block.offset);
        if (block.prev_free != before)
            return "free list prev_free link broken at offset " + std::to_string(block.offset);
        if (block.prev_free != kNoBlock && block.prev_free == block.next_free)
            return "prev_free == next_free at offset " + std::to_string(block.offset);
        before = slot;
    }
    if (listed != free_blocks)
        return std::to_string(free_blocks - listed) + " free blocks missing from the free list";
    if (std::string problem = verify_free_index(); !problem.empty())
        return problem;
    // Unbounded, the tail is never handed out whole, and it is always last in the list.
    if (!pool_size_ && (blocks_[last].allocated || blocks_[last].next_free != kNoBlock))
        return "the tail block is not the last entry of the free list";
    if (maximum_used_ < total_used_ || maximum_header_count_ < header_count_)
        return "a maximum below its current value";
    for (const DivergentPools& group : divergent_) {
        if (group.lens.empty())
            return "an empty group of divergent pools";
        if (group.tail_handed_out ? !blocks_[group.block].allocated
                                  : group.block != kNoBlock && (blocks_[group.block].allocated ||
                                                                group.block == last_block_))
            return "a group of divergent pools refers to a block in the wrong state";
        for (std::uint64_t l : group.lens)
            if (l < pool_end_.required())
                return "a divergent pool below the reach of the tail";
    }
    return "";
}

bool MbedtlsPoolModel::append_state(std::vector<std::uint64_t>& out) const {
    out.insert(out.end(), {heap_ready_, total_used_, maximum_used_, header_count_,
                           maximum_header_count_, used_bytes_, footprint_});
    // The blocks in address order, then the free list in list order (the
    // index's keys only restate that order).
    for (std::uint32_t slot = first_block_; slot != kNoBlock; slot = blocks_[slot].next) {
        const Block& block = blocks_[slot];
        out.insert(out.end(),
                   {block.offset, block.size,
                    std::uint64_t{block.allocated} | std::uint64_t{block.carved_from_tail} << 1});
    }
    out.push_back(last_block_ == kNoBlock ? UINT64_MAX : blocks_[last_block_].offset);
    for (std::uint32_t slot = first_free_; slot != kNoBlock; slot = blocks_[slot].next_free)
        out.push_back(blocks_[slot].offset);
    out.push_back(UINT64_MAX);
    pool_end_.append_state(out);
    for (const DivergentPools& group : divergent_) {
        out.push_back(group.tail_handed_out);
        out.push_back(group.block == kNoBlock ? UINT64_MAX : blocks_[group.block].offset);
        out.push_back(group.lens.size());
        out.insert(out.end(), group.lens.begin(), group.lens.end());
    }
    out.push_back(divergent_.size());
    return true;
}

} // namespace tlsheap::replay
