// The allocations and frees an allocator model sees, kept in memory in a
// compact form, so that the min-pool search replays the models many times
// over one decode of the trace instead of decoding the file per replay.
//
// Only what a bare model replay needs is kept: each request the models serve
// (bytes > 0, not overflowing; a NULL, empty or overflowing allocation is
// placed by no model and is left out with its free), each free of such a
// block, and enough to say where a failing allocation was (its Moment).
// Blocks are named by a dense index, the lowest not in use when the block is
// allocated, so a replay keeps its per-block offsets in an array as large as
// the most blocks alive at once (no hash map, and no id of the trace sizes
// anything), and a stretch of events repeated over the same live blocks names
// its blocks as an earlier one did (the walker's slots follow the order of
// earlier frees, which differs from one repeat to the next).
//
// The stream is cut into stretches (one per connection of a reconnect or
// soak recording, see Stretch). A stretch whose events equal an earlier
// one's is kept as a reference to that one's events and call sites, with
// the call sites that differ: it is compared as soon as it ends, and its
// own are written over by the next, so a recording of many equal
// connections writes each different one once.
//
// Memory, on top of the walker's live blocks: 8 bytes per event of a
// stretch first seen and 4 per allocation of one (its call site), 8 per
// call site that differs from that of the stretch first seen, 4 bytes per
// allocation (its time), a 40-byte anchor wherever the context (phase,
// state, connection), the event numbering or the clock jumps, 8 bytes per
// request of 4 GiB or more, and 72 bytes per stretch. The default scenario
// repeated to 10 million events writes about 21 MB (its 5 million
// allocations' times, and the anchors); a recording with no repeats about
// 12 bytes per event. A trace of 4 MiB or more has its room reserved from
// its size (expect_trace_bytes), so the vectors are never copied; the room
// beyond what is written is address space that is never touched. A smaller
// trace's vectors grow and may hold up to twice the bytes used.
#pragma once

#include "tlsheap/huge_page_allocator.h"
#include "tlsheap/lowest_free_index.h"
#include "tlsheap/record_source.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_walker.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace tlsheap::replay {

class AllocationStream {
  public:
    // One event: `block` is the block's index, with kFreeBit set on a free;
    // `size` is the bytes asked (allocations only), kLargeSize when they do
    // not fit 32 bits (the real figure is then the next of large_sizes_).
    struct Event {
        std::uint32_t block = 0;
        std::uint32_t size = 0;
    };
    static constexpr std::uint32_t kFreeBit = 1u << 31;
    static constexpr std::uint32_t kLargeSize = 0xffffffffu;

    // The events' array (huge pages: a long trace's stream is its largest
    // memory).
    using Events = std::vector<Event, HugePageAllocator<Event>>;
    // The events kept: those of the stretches first seen, in order (a
    // stretch's are at its stored_first).
    const Events& stored_events() const { return events_; }
    // The events of stretch `s`, stored or those of the stretch it equals.
    std::span<const Event> events_of(std::size_t s) const;
    // Events and allocations in the whole stream, repeats included; an
    // event's index counts all of them.
    std::uint64_t event_count() const { return event_count_; }
    std::uint64_t allocations() const { return time_offsets_.size(); }
    // Requests of kLargeSize bytes or more, in the order of their events.
    const std::vector<std::uint64_t>& large_sizes() const { return large_sizes_; }
    // One more than the highest block index: the array a replay needs.
    std::uint32_t block_capacity() const { return block_capacity_; }

    // The recording's pointer size, as the walker knew it at the first event
    // (when the replay engine builds its models).
    unsigned pointer_size() const { return pointer_size_; }
    // The recording's live peak: the highest sum of requested bytes alive
    // (ReplayResult::live_peak.bytes).
    std::uint64_t live_peak() const { return live_peak_; }

    // Where the plain per-allocation figures start from: the event numbering
    // and the clock run on from here, in this context, until the next one.
    // An allocation's connection is its last anchor's.
    struct Anchor {
        std::uint64_t event = 0; // index in events_
        std::uint64_t seq = 0;
        std::uint64_t time_ns = 0;
        std::uint32_t state = 0;
        std::uint32_t connection = 0;
        trace::Phase phase = trace::Phase::Setup;
    };
    // In the order of their events.
    const std::vector<Anchor>& anchors() const { return anchors_; }

    // Stretches of the stream that may repeat, in order, covering it: one
    // starts at each anchor that enters SETUP from another phase (the next
    // connection of a reconnect or soak recording). A replay that meets a
    // stretch equal to one it served, in the state it served that one in,
    // passes over it (bare_model_replay.h).
    struct Stretch {
        std::uint64_t first_event = 0;  // index among all events (event_count)
        std::uint64_t first_anchor = 0; // index in anchors(): the stretch's own
        std::uint64_t allocations = 0;
        // Where its events are in stored_events(): its own, or those of the
        // stretch it equals.
        std::uint64_t stored_first = 0;
        // Its first allocation's number among the stream's allocations.
        std::uint64_t first_allocation = 0;
        // Where its allocations' call sites are: its own, or those of the
        // stretch it equals, but for its changes to them (in
        // [changes_first, changes_end) of the stream's stack changes).
        std::uint64_t stacks_first = 0;
        std::uint64_t changes_first = 0;
        std::uint64_t changes_end = 0;
        // The highest connection of its anchors (its first event has one).
        std::uint32_t max_connection = 0;
        // The first stretch whose events equal this one's, block for block
        // and size for size (its own index when none before does, or when it
        // asks for kLargeSize bytes or more).
        std::uint32_t same_as = 0;
    };
    const std::vector<Stretch>& stretches() const { return stretches_; }

    // Where an allocation happened: `event` is its index among all events,
    // `allocation` its number among the stream's allocations (from 0).
    Moment moment_of(std::uint64_t event, std::uint64_t allocation) const;

    // Bytes held, capacity included: what the stream costs in memory.
    std::size_t memory_bytes() const;

  private:
    friend class AllocationStreamBuilder;

    // An allocation of a stretch whose call site differs from that of the
    // stretch it equals: its offset among the stretch's allocations.
    struct StackChange {
        std::uint32_t allocation = 0;
        std::uint32_t stack = 0;
    };

    Events events_;
    // By allocation of a stretch, from its stacks_first: the allocation's
    // stack id.
    std::vector<std::uint32_t, HugePageAllocator<std::uint32_t>> stacks_;
    std::vector<StackChange> stack_changes_; // by stretch, in order
    // By allocation: ns since its anchor's time.
    std::vector<std::uint32_t, HugePageAllocator<std::uint32_t>> time_offsets_;
    std::uint64_t event_count_ = 0;
    std::vector<std::uint64_t> large_sizes_;
    std::vector<Anchor> anchors_;
    std::vector<Stretch> stretches_;
    std::uint32_t block_capacity_ = 0;
    unsigned pointer_size_ = 0;
    bool pointer_size_known_ = false;
    std::uint64_t live_peak_ = 0;
};

// A client of the trace walker that builds an AllocationStream as the walk
// goes. The replay engine feeds it next to its own clients; anyone else
// walks with it directly.
class AllocationStreamBuilder final : public trace::WalkerHooks {
  public:
    AllocationStreamBuilder(const trace::TraceWalker& walker, AllocationStream& stream)
        : walker_(walker), stream_(stream) {}

    void on_alloc(const trace::Record& r, const trace::LiveAllocation* block,
                  std::uint32_t slot) override;
    void on_free(const trace::Record& r, trace::FreeKind kind, const trace::LiveAllocation* block,
                 std::uint32_t slot) override;
    // Before the walk: a trace of about `trace_bytes` bytes follows. From
    // kReserveFromBytes on, reserves room for the events it can hold
    // (virtual memory, touched only as events come, capped at
    // kMostReservedEvents), so a long stream is not copied as it grows.
    void expect_trace_bytes(std::uint64_t trace_bytes);
    static constexpr std::uint64_t kReserveFromBytes = std::uint64_t{4} << 20;
    static constexpr std::uint64_t kMostReservedEvents = std::uint64_t{1} << 27;

    // After the walk: settles what the walk never reached (the pointer size
    // of a trace without events) and compares the last stretch.
    void finish();

  private:
    void note_first_event();
    // Adds an anchor unless the next event, at `seq` and `time_ns`, follows
    // from the last one (for a free, only its seq matters); an anchor that
    // enters SETUP from another phase starts a stretch.
    void anchor_if_needed(std::uint64_t seq, std::uint64_t time_ns, bool alloc);
    // The last stretch has ended: when its events equal an earlier one's,
    // it refers to those and its own are dropped.
    void close_stretch();
    void push_event(AllocationStream::Event e);

    const trace::TraceWalker& walker_;
    AllocationStream& stream_;
    static constexpr std::uint32_t kNotInStream = UINT32_MAX;
    // By walker slot: the live block's index in the stream, kNotInStream
    // when its allocation is not in the stream.
    std::vector<std::uint32_t> index_of_slot_;
    LowestFreeIndex indexes_;
    // Stretches first seen, by the length and a hash of their events (at
    // most kMostPerHash a hash: a trace made to collide costs no more).
    static constexpr std::size_t kMostPerHash = 8;
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> firsts_;
};

// Walks `source` once and returns its allocation stream. Throws
// trace::TraceError (and what a transform source throws).
AllocationStream read_allocation_stream(RecordSource& source);

} // namespace tlsheap::replay
