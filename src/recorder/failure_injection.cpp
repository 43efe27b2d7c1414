#include "failure_injection.h"

#include <algorithm>

namespace tlsheap::recorder {

FailureInjection& FailureInjection::instance() {
    static FailureInjection injection;
    return injection;
}

void FailureInjection::arm(std::uint64_t ordinal) {
    ordinal_ = ordinal;
    calls_ = 0;
    requested_ = 0;
    injected_ = false;
    live_.clear();
}

bool FailureInjection::fail_this(std::size_t count, std::size_t size) {
    if (++calls_ != ordinal_) {
        return false;
    }
    injected_ = true;
    // The product as mbedtls_calloc's caller asked for it; an overflowing
    // request fails anyway and is recorded as all ones.
    requested_ = size != 0 && count > SIZE_MAX / size ? UINT64_MAX : std::uint64_t{count} * size;
    return true;
}

void FailureInjection::allocated(const void* block, std::size_t bytes) {
    if (block != nullptr) {
        live_[block] = Block{calls_, bytes};
    }
}

void FailureInjection::freed(const void* block) {
    live_.erase(block);
}

std::vector<FailureInjection::Block> FailureInjection::live_blocks() const {
    std::vector<Block> blocks;
    blocks.reserve(live_.size());
    for (const auto& [address, block] : live_) {
        blocks.push_back(block);
    }
    std::sort(blocks.begin(), blocks.end(),
              [](const Block& a, const Block& b) { return a.ordinal < b.ordinal; });
    return blocks;
}

} // namespace tlsheap::recorder
