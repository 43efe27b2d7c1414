// Out-of-memory injection (`tlsheap oom`): the k-th mbedtls_calloc of a run
// returns NULL without reaching the allocator, and every block the run
// allocated is followed to its free, so that what is still allocated when
// the run is over (every context freed) is known: a leak on the error path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace tlsheap::recorder {

class FailureInjection {
  public:
    static FailureInjection& instance();

    // The `ordinal`-th call (from 1) of mbedtls_calloc from now on fails.
    void arm(std::uint64_t ordinal);
    bool armed() const { return ordinal_ != 0; }

    // Before the allocator: true when this call is the one that must fail.
    bool fail_this(std::size_t count, std::size_t size);
    // After it: the block, followed until it is freed.
    void allocated(const void* block, std::size_t bytes);
    void freed(const void* block);

    // Whether the failing call was reached, and the bytes it asked for.
    bool injected() const { return injected_; }
    std::uint64_t requested_bytes() const { return requested_; }

    struct Block {
        std::uint64_t ordinal = 0; // which call of mbedtls_calloc made it
        std::uint64_t bytes = 0;
    };
    // The blocks alive now, in the order they were allocated.
    std::vector<Block> live_blocks() const;

  private:
    std::uint64_t ordinal_ = 0;
    std::uint64_t calls_ = 0;
    std::uint64_t requested_ = 0;
    bool injected_ = false;
    std::unordered_map<const void*, Block> live_;
};

} // namespace tlsheap::recorder
