#include "ideal_model.h"

#include <cassert>

namespace tlsheap::replay {

IdealModel::IdealModel(std::optional<std::uint64_t> pool_size) : pool_size_(pool_size) {}

std::string IdealModel::description() const {
    return "ideal (no headers, no alignment, no fragmentation: footprint = live peak)";
}

std::optional<std::uint64_t> IdealModel::allocate(std::uint64_t size) {
    if (size == 0)
        return std::nullopt;
    if (pool_size_ && (size > *pool_size_ || live_ > *pool_size_ - size))
        return std::nullopt;
    // Offsets only have to be unique among live blocks: the storage slot
    // serves, and makes release a lookup-free operation.
    const std::uint32_t slot = offsets_.take();
    if (slot == blocks_.size())
        blocks_.emplace_back();
    blocks_[slot].size = size;
    blocks_[slot].live = true;
    live_ += size;
    if (live_ > peak_)
        peak_ = live_;
    return slot;
}

void IdealModel::release(std::uint64_t offset) {
    const auto slot = static_cast<std::uint32_t>(offset);
    assert(offset < blocks_.size() && blocks_[slot].live &&
           "release of an offset that is not live");
    if (offset >= blocks_.size() || !blocks_[slot].live)
        return;
    blocks_[slot].live = false;
    live_ -= blocks_[slot].size;
    offsets_.give_back(slot);
}

// No allocator, no API: what is not live is free and in one piece.
HeapFigures IdealModel::heap_figures() const {
    const std::uint64_t free = pool_size_ ? *pool_size_ - live_ : peak_ - live_;
    return HeapFigures{free, free, free};
}

std::string IdealModel::heap_figures_source() const {
    return "the pool less the live bytes";
}

std::string IdealModel::verify() const {
    std::uint64_t live = 0;
    std::size_t count = 0;
    for (const Block& block : blocks_) {
        if (block.live) {
            live += block.size;
            ++count;
        }
    }
    if (live != live_)
        return "live bytes " + std::to_string(live_) + " but blocks hold " + std::to_string(live);
    if (count != offsets_.in_use() || offsets_.end() != blocks_.size())
        return "block storage disagrees on the live block count";
    if (live_ > peak_)
        return "live bytes above the recorded peak";
    if (pool_size_ && peak_ > *pool_size_)
        return "peak above the pool size";
    return "";
}

bool IdealModel::append_state(std::vector<std::uint64_t>& out) const {
    // The free offsets are those below blocks_.size() not live.
    out.insert(out.end(), {live_, peak_, blocks_.size()});
    for (const Block& block : blocks_)
        out.push_back(block.live ? block.size : UINT64_MAX);
    return true;
}

} // namespace tlsheap::replay
