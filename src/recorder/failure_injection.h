// Out-of-memory injection (`tlsheap oom`): the k-th mbedtls_calloc of a run
// returns NULL without reaching the allocator (or, on a real pool too small,
// the first call the pool refuses is noted), and every block the run
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

    // From now on the calls are counted and the blocks followed; the
    // `ordinal`-th call (from 1) fails, none when 0.
    void arm(std::uint64_t ordinal);
    void disarm() { armed_ = false; }
    bool armed() const { return armed_; }

    // Before the allocator: true when this call is the one that must fail.
    bool fail_this(std::size_t count, std::size_t size);
    // After it: the block (NULL: the allocator refused), followed until it
    // is freed.
    void allocated(const void* block, std::size_t count, std::size_t size);
    void freed(const void* block);

    // Whether the armed call was reached.
    bool injected() const { return injected_; }
    // The first call that got NULL (the armed one, or one the allocator
    // refused; 0: none), and the bytes it asked for.
    std::uint64_t failed_call() const { return failed_call_; }
    std::uint64_t requested_bytes() const { return requested_; }

    struct Block {
        std::uint64_t ordinal = 0; // which call of mbedtls_calloc made it
        std::uint64_t bytes = 0;
    };
    // The blocks alive now, in the order they were allocated.
    std::vector<Block> live_blocks() const;

  private:
    bool armed_ = false;
    std::uint64_t ordinal_ = 0;
    std::uint64_t calls_ = 0;
    std::uint64_t failed_call_ = 0;
    std::uint64_t requested_ = 0;
    bool injected_ = false;
    std::unordered_map<const void*, Block> live_;
};

} // namespace tlsheap::recorder
