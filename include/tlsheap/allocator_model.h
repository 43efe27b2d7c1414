// An allocator model replays a recorded allocation stream the way one embedded
// heap would have served it, byte for byte: where each block lands, what its
// header costs, how free blocks split and merge. The replay engine drives one
// model per allocator; the models know nothing of traces or mbedTLS.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlsheap::replay {

// A bad --model argument: unknown model, unknown option, bad value. The
// message is one line and names the problem.
class ModelError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// "NAME" or "NAME:key=value,key=value" as given to --model.
struct ModelSpec {
    std::string name;
    std::vector<std::pair<std::string, std::string>> options;

    // Throws ModelError on malformed text ("mbedtls-pool:", "x:=1", ...).
    static ModelSpec parse(std::string_view text);
    std::string to_string() const;
};

// What a model is built for.
struct ModelContext {
    // Pointer size of the recording's ABI (4 or 8); headers that hold
    // pointers follow it unless an option overrides.
    unsigned pointer_size = 4;
    // The pool the user would give the allocator (the `len` of
    // mbedtls_memory_buffer_alloc_init, configTOTAL_HEAP_SIZE, the region
    // handed to multi_heap/umm). nullopt: unbounded, to measure footprint.
    std::optional<std::uint64_t> pool_size;
};

// What a device's own heap API reports about a pool of fixed size
// (ModelContext::pool_size) at one moment, so that a verdict can be held
// against the device's serial console.
struct HeapFigures {
    // Free bytes as the API counts them (its own choice of headers in or out).
    std::uint64_t free_bytes = 0;
    // The largest free block as the API reports it.
    std::uint64_t largest_free_block = 0;
    // The largest request that would succeed right now (headers, alignment
    // and the allocator's fit rules applied).
    std::uint64_t largest_request = 0;
};

// A real allocator that the recorder can run on, so that a trace holds its
// answers (trace meta "allocator").
enum class RecordedAllocator {
    None,
    MemoryBufferAlloc, // mbedTLS's memory_buffer_alloc.c
};

class AllocatorModel {
  public:
    virtual ~AllocatorModel() = default;

    // Stable identifier, e.g. "mbedtls-pool".
    virtual std::string name() const = 0;
    // One line naming every option in effect and the version modelled,
    // e.g. "mbedtls-pool (header 32 B, align 4, ILP32)".
    virtual std::string description() const = 0;

    // Serve a request for `size` bytes (size > 0; the engine filters zero
    // and overflowing calloc arguments). Returns the offset from the start
    // of the pool of the first byte handed to the caller, or nullopt when
    // this allocator would have returned NULL.
    virtual std::optional<std::uint64_t> allocate(std::uint64_t size) = 0;

    // Return a block previously handed out, by the offset allocate() gave.
    virtual void release(std::uint64_t offset) = 0;

    // One past the highest pool byte the allocator has written so far:
    // control structures, headers, alignment and split headers included.
    virtual std::uint64_t footprint() const = 0;

    // Bytes of the pool currently in live blocks, headers included.
    virtual std::uint64_t used_bytes() const = 0;

    // Free bytes below footprint() (headers of free blocks excluded) and
    // the largest request that one free block below footprint() could
    // serve right now.
    virtual std::uint64_t free_bytes_below_footprint() const = 0;
    virtual std::uint64_t largest_free_block_below_footprint() const = 0;

    // The device's figures for a bounded pool (pool_size set), the untouched
    // part beyond footprint() counted as the free space it is. Unbounded,
    // they describe the nominal pool the model lays out.
    virtual HeapFigures heap_figures() const = 0;
    // Where heap_figures() come from, one line naming the API and the source
    // it was checked against, e.g. "xPortGetHeapStats (heap_4.c)".
    virtual std::string heap_figures_source() const = 0;

    // Walk the whole heap and check every invariant of the real allocator
    // (links, sizes, no adjacent free blocks where it always merges, ...).
    // Returns "" when all hold, else the first violation, one line.
    virtual std::string verify() const = 0;

    // Figures the real allocator reports about itself, under its own names
    // (mbedtls-pool: "max_used", "max_blocks" as MBEDTLS_MEMORY_DEBUG
    // counts them; freertos-heap4: "minimum_ever_free").
    virtual std::vector<std::pair<std::string, std::uint64_t>> statistics() const { return {}; }

    // True when the model places blocks independently of where the pool
    // ends (first fit whose tail block is always searched last): then one
    // unbounded replay gives the minimum pool via min_pool_after_replay().
    virtual bool placement_independent_of_pool_end() const = 0;

    // After an unbounded replay (pool_size nullopt) of a whole trace: the
    // smallest pool_size with which the same trace runs without a failed
    // allocation. Only meaningful when placement_independent_of_pool_end().
    virtual std::uint64_t min_pool_after_replay() const { return footprint(); }

    // For models that need a search: the smallest pool_size worth trying
    // (control structures plus one block), and the largest the allocator
    // supports (nullopt: no limit).
    virtual std::uint64_t smallest_pool() const { return 1; }
    // The step between pool sizes that can behave differently (the
    // allocator's alignment): the minimum pool is checked to fail at one
    // step below it.
    virtual std::uint64_t pool_granularity() const { return 1; }
    virtual std::optional<std::uint64_t> largest_pool() const { return std::nullopt; }

    // The real allocator this model reproduces to the byte, when a trace can
    // be recorded on it: the replay then checks every offset the model gives
    // against the address the real allocator gave.
    virtual RecordedAllocator reproduces() const { return RecordedAllocator::None; }

    // Appends to `out` everything that decides what the model does and
    // reports from here on, in a form equal for equal states however they
    // were reached: addresses, sizes, flags and list orders, never the
    // model's own slot numbers or its ever-decreasing list keys. A replay
    // that meets a stretch of events equal to one it served before, in the
    // state that one was met in, knows where it ends without serving it, and
    // goes on from a clone() kept there (a reconnect trace). Saying more
    // than needed only skips less; false: the model cannot tell, and nothing
    // is skipped.
    virtual bool append_state(std::vector<std::uint64_t>& out) const {
        (void)out;
        return false;
    }

    // A copy in this very state (see append_state). nullptr: the model
    // cannot be copied, and nothing is skipped.
    virtual std::unique_ptr<AllocatorModel> clone() const { return nullptr; }
};

// Every model the replay knows, by name.
struct ModelInfo {
    std::string name;
    std::string summary; // one line for `tlsheap replay --help`
    std::string options; // "backtrace=on|off, align=N, ptr=4|8"
};
std::vector<ModelInfo> model_catalog();

// Builds a model; throws ModelError for an unknown name or option.
std::unique_ptr<AllocatorModel> make_model(const ModelSpec& spec, const ModelContext& context);

} // namespace tlsheap::replay
