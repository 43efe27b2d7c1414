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
    const std::uint32_t slot = blocks_.acquire();
    blocks_[slot].size = size;
    const std::uint64_t offset = next_offset_;
    next_offset_ += size;
    index_.insert(offset, slot);
    live_ += size;
    if (live_ > peak_)
        peak_ = live_;
    return offset;
}

void IdealModel::release(std::uint64_t offset) {
    const std::uint32_t slot = index_.erase(offset);
    assert(slot != OffsetIndex::npos && "release of an offset that is not live");
    if (slot == OffsetIndex::npos)
        return;
    live_ -= blocks_[slot].size;
    blocks_.release(slot);
}

std::string IdealModel::verify() const {
    std::uint64_t live = 0;
    index_.for_each([&](std::uint64_t, std::uint32_t slot) { live += blocks_[slot].size; });
    if (live != live_)
        return "live bytes " + std::to_string(live_) + " but blocks hold " + std::to_string(live);
    if (index_.size() != blocks_.in_use())
        return "index and block storage disagree on the live block count";
    if (live_ > peak_)
        return "live bytes above the recorded peak";
    if (pool_size_ && peak_ > *pool_size_)
        return "peak above the pool size";
    return "";
}

} // namespace tlsheap::replay
