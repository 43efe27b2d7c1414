#include "stack_table.h"

#include <cstring>

namespace tlsheap::recorder {

namespace {

std::uint64_t hash_frames(const std::uintptr_t* frames, unsigned count) {
    // FNV-1a over the words, then a final avalanche: plenty for a few
    // thousand distinct stacks, and it needs no library.
    std::uint64_t h = 1469598103934665603ull ^ count;
    for (unsigned i = 0; i < count; ++i) {
        h ^= static_cast<std::uint64_t>(frames[i]);
        h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

} // namespace

StackTable::Interned StackTable::intern(const std::uintptr_t* frames, unsigned count) {
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
            return {s.id, true};
        }
        if (s.hash == h && s.count == count &&
            std::memcmp(frames_.data() + s.offset, frames, count * sizeof(*frames)) == 0) {
            return {s.id, false};
        }
    }
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
