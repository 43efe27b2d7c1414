#include "stack_table.h"

#include <cstring>

namespace tlsheap::recorder {

namespace {

std::uint64_t hash_frames(const std::uintptr_t* frames, unsigned count) {
    // Each word is multiplied on its own and folded in with rotate-xor, so the
    // multiplies overlap instead of forming one long dependency chain (this
    // runs for every allocation); a final avalanche mixes the result.
    std::uint64_t h = 0x9e3779b97f4a7c15ull ^ count;
    for (unsigned i = 0; i < count; ++i) {
        h = ((h << 23) | (h >> 41)) ^
            (static_cast<std::uint64_t>(frames[i]) * 0xff51afd7ed558ccdull);
    }
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

} // namespace

StackTable::Interned StackTable::intern(const std::uintptr_t* frames, unsigned count) {
    // Consecutive allocations often come from the same place (bignum loops):
    // compare with the last stack before hashing.
    if (last_id_ != 0 && count == last_count_ &&
        std::memcmp(frames_.data() + last_offset_, frames, count * sizeof(*frames)) == 0) {
        return {last_id_, false};
    }
    if ((entries_ + 1) * 2 > slots_.size()) {
        grow();
    }
    const std::uint64_t h = hash_frames(frames, count);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
        Slot& s = slots_[i];
        if (s.id == 0) {
            s.hash = h;
            s.count = count;
            s.offset = frames_.size();
            frames_.insert(frames_.end(), frames, frames + count);
            s.id = static_cast<std::uint32_t>(++entries_);
            remember(s);
            return {s.id, true};
        }
        if (s.hash == h && s.count == count &&
            std::memcmp(frames_.data() + s.offset, frames, count * sizeof(*frames)) == 0) {
            remember(s);
            return {s.id, false};
        }
    }
}

void StackTable::remember(const Slot& s) {
    last_id_ = s.id;
    last_count_ = s.count;
    last_offset_ = s.offset;
}

void StackTable::grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
        if (s.id == 0) {
            continue;
        }
        std::size_t i = s.hash & mask;
        while (slots_[i].id != 0) {
            i = (i + 1) & mask;
        }
        slots_[i] = s;
    }
}

} // namespace tlsheap::recorder
