#include "failure_injection.h"

#include <algorithm>

namespace tlsheap::recorder {

FailureInjection& FailureInjection::instance() {
    static FailureInjection injection;
    return injection;
}

namespace {

// The product as mbedtls_calloc's caller asked for it; an overflowing
// request (which fails anyway) as all ones.
std::uint64_t product(std::size_t count, std::size_t size) {
    return size != 0 && count > SIZE_MAX / size ? UINT64_MAX : std::uint64_t{count} * size;
}

} // namespace

void FailureInjection::arm(std::uint64_t ordinal) {
    armed_ = true;
    ordinal_ = ordinal;
    failed_call_ = 0;
    calls_ = 0;
    requested_ = 0;
    injected_ = false;
    live_.clear();
}

bool FailureInjection::fail_this(std::size_t count, std::size_t size) {
    if (++calls_ != ordinal_ || ordinal_ == 0) {
        return false;
    }
    injected_ = true;
    // The first call that got NULL, should the allocator have refused one before.
    if (failed_call_ == 0) {
        failed_call_ = calls_;
        requested_ = product(count, size);
    }
    return true;
}

void FailureInjection::allocated(const void* block, std::size_t count, std::size_t size) {
    if (block != nullptr) {
        live_[block] = Block{calls_, product(count, size)};
    } else if (failed_call_ == 0) {
        failed_call_ = calls_;
        requested_ = product(count, size);
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
