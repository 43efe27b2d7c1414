#include "tlsheap/allocation_stream.h"

#include <algorithm>
#include <limits>

namespace tlsheap::replay {

std::span<const AllocationStream::Event> AllocationStream::events_of(std::size_t s) const {
    const Stretch& stretch = stretches_[s];
    const std::uint64_t end =
        s + 1 < stretches_.size() ? stretches_[s + 1].first_event : event_count_;
    return {events_.data() + stretch.stored_first, end - stretch.first_event};
}

Moment AllocationStream::moment_of(std::uint64_t event, std::uint64_t allocation) const {
    // The last anchor and stretch at or before the event.
    const auto after =
        std::upper_bound(anchors_.begin(), anchors_.end(), event,
                         [](std::uint64_t e, const Anchor& a) { return e < a.event; });
    const auto stretch_after =
        std::upper_bound(stretches_.begin(), stretches_.end(), event,
                         [](std::uint64_t e, const Stretch& s) { return e < s.first_event; });
    Moment m;
    if (after == anchors_.begin() || stretch_after == stretches_.begin() || event >= event_count_ ||
        allocation >= time_offsets_.size()) {
        return m;
    }
    const Anchor& a = *(after - 1);
    const Stretch& s = *(stretch_after - 1);
    m.seq = a.seq + (event - a.event);
    m.time_ns = a.time_ns + time_offsets_[allocation];
    m.phase = a.phase;
    m.state = a.state;
    const std::uint64_t k = allocation - s.first_allocation;
    const auto changes_end = stack_changes_.begin() + static_cast<std::ptrdiff_t>(s.changes_end);
    const auto change = std::lower_bound(
        stack_changes_.begin() + static_cast<std::ptrdiff_t>(s.changes_first), changes_end, k,
        [](const StackChange& c, std::uint64_t at) { return c.allocation < at; });
    m.stack = change != changes_end && change->allocation == k ? change->stack
                                                               : stacks_[s.stacks_first + k];
    m.connection = a.connection;
    return m;
}

std::size_t AllocationStream::memory_bytes() const {
    return events_.capacity() * sizeof(Event) + stacks_.capacity() * sizeof(std::uint32_t) +
           time_offsets_.capacity() * sizeof(std::uint32_t) +
           stack_changes_.capacity() * sizeof(StackChange) +
           large_sizes_.capacity() * sizeof(std::uint64_t) + anchors_.capacity() * sizeof(Anchor) +
           stretches_.capacity() * sizeof(Stretch);
}

void AllocationStreamBuilder::note_first_event() {
    // The replay engine builds its models at the first event, with the
    // pointer size known then; the stream's replays must use the same.
    if (!stream_.pointer_size_known_) {
        stream_.pointer_size_known_ = true;
        stream_.pointer_size_ = walker_.info().pointer_size();
    }
}

void AllocationStreamBuilder::anchor_if_needed(std::uint64_t seq, std::uint64_t time_ns,
                                               bool alloc) {
    auto& anchors = stream_.anchors_;
    const std::uint64_t event = stream_.event_count_;
    if (!anchors.empty()) {
        const AllocationStream::Anchor& a = anchors.back();
        const bool follows = seq == a.seq + (event - a.event);
        if (follows && !alloc) {
            return;
        }
        if (follows && a.phase == walker_.phase() && a.state == walker_.state() &&
            a.connection == walker_.connection() && time_ns >= a.time_ns &&
            time_ns - a.time_ns <= std::numeric_limits<std::uint32_t>::max()) {
            return;
        }
    }
    AllocationStream::Anchor a;
    a.event = event;
    a.seq = seq;
    a.time_ns = time_ns;
    a.phase = walker_.phase();
    a.state = walker_.state();
    a.connection = walker_.connection();
    auto& stretches = stream_.stretches_;
    if (anchors.empty() ||
        (a.phase == trace::Phase::Setup && anchors.back().phase != trace::Phase::Setup)) {
        if (!stretches.empty()) {
            close_stretch();
        }
        AllocationStream::Stretch s;
        s.first_event = event;
        s.first_anchor = anchors.size();
        s.stored_first = stream_.events_.size();
        s.stacks_first = stream_.stacks_.size();
        s.first_allocation = stream_.time_offsets_.size();
        s.same_as = static_cast<std::uint32_t>(stretches.size());
        stretches.push_back(s);
    }
    stretches.back().max_connection = std::max(stretches.back().max_connection, a.connection);
    anchors.push_back(a);
}

void AllocationStreamBuilder::push_event(AllocationStream::Event e) {
    stream_.events_.push_back(e);
    ++stream_.event_count_;
}

void AllocationStreamBuilder::on_alloc(const trace::Record& r, const trace::LiveAllocation* block,
                                       std::uint32_t slot) {
    note_first_event();
    if (block == nullptr) {
        return; // the recorded allocator returned NULL: nothing to place
    }
    stream_.live_peak_ = std::max(stream_.live_peak_, walker_.live_bytes());
    if (slot >= AllocationStream::kFreeBit) {
        throw trace::TraceError("more than 2^31 blocks alive at once");
    }
    // Slots are dense and bounded by the blocks alive, so this follows them.
    if (slot >= index_of_slot_.size()) {
        index_of_slot_.resize(std::size_t{slot} + 1, kNotInStream);
    }
    const std::uint64_t bytes = r.bytes_asked();
    index_of_slot_[slot] = kNotInStream;
    if (bytes == 0 || r.bytes_overflow()) {
        return; // on an embedded heap an empty request returns NULL: no model places it
    }
    anchor_if_needed(r.seq, r.time_ns, true);
    const std::uint32_t index = indexes_.take();
    index_of_slot_[slot] = index;
    AllocationStream::Event e;
    e.block = index;
    if (bytes >= AllocationStream::kLargeSize) {
        e.size = AllocationStream::kLargeSize;
        stream_.large_sizes_.push_back(bytes);
    } else {
        e.size = static_cast<std::uint32_t>(bytes);
    }
    push_event(e);
    stream_.stacks_.push_back(r.stack);
    ++stream_.stretches_.back().allocations;
    stream_.time_offsets_.push_back(
        static_cast<std::uint32_t>(r.time_ns - stream_.anchors_.back().time_ns));
    stream_.block_capacity_ = indexes_.end();
}

void AllocationStreamBuilder::on_free(const trace::Record& r, trace::FreeKind kind,
                                      const trace::LiveAllocation* /*block*/, std::uint32_t slot) {
    note_first_event();
    if (kind != trace::FreeKind::Known || slot >= index_of_slot_.size() ||
        index_of_slot_[slot] == kNotInStream) {
        return;
    }
    const std::uint32_t index = index_of_slot_[slot];
    index_of_slot_[slot] = kNotInStream;
    indexes_.give_back(index);
    anchor_if_needed(r.seq, r.time_ns, false);
    push_event({index | AllocationStream::kFreeBit, 0});
}

void AllocationStreamBuilder::expect_trace_bytes(std::uint64_t trace_bytes) {
    // An Alloc record takes at least 7 bytes (tag, length, 5 varints), a
    // Free at least 6; most events take 8 to 10. A small trace's stream
    // costs little to grow, and its other records (stacks, symbols) would
    // make the room reserved large beside its events.
    if (trace_bytes < kReserveFromBytes)
        return;
    const std::uint64_t events = std::min(trace_bytes / 6, kMostReservedEvents);
    stream_.events_.reserve(events);
    stream_.stacks_.reserve(events / 2);
    stream_.time_offsets_.reserve(events / 2);
}

void AllocationStreamBuilder::finish() {
    note_first_event();
    if (!stream_.stretches_.empty()) {
        close_stretch();
    }
}

void AllocationStreamBuilder::close_stretch() {
    using Event = AllocationStream::Event;
    std::vector<AllocationStream::Stretch>& stretches = stream_.stretches_;
    AllocationStream::Stretch& s = stretches.back();
    // A stretch before the last is whole, and as long as to where the next begins.
    auto length_of = [&](std::uint32_t earlier) {
        return static_cast<std::ptrdiff_t>(stretches[earlier + 1].first_event -
                                           stretches[earlier].first_event);
    };
    const auto first = static_cast<std::ptrdiff_t>(s.stored_first);
    const auto end = static_cast<std::ptrdiff_t>(stream_.events_.size());
    const auto events = stream_.events_.begin();
    if (std::any_of(events + first, events + end,
                    [](const Event& e) { return e.size == AllocationStream::kLargeSize; })) {
        return; // its sizes are elsewhere (large_sizes): never the same
    }
    std::uint64_t hash = static_cast<std::uint64_t>(end - first);
    for (std::ptrdiff_t e = first; e < end; ++e) {
        hash = (hash ^ (std::uint64_t{events[e].block} << 32 | events[e].size)) * 0x100000001b3ull;
        hash ^= hash >> 29;
    }
    std::vector<std::uint32_t>& candidates = firsts_[hash];
    auto same_events = [&](std::uint32_t earlier) {
        const auto f_first = static_cast<std::ptrdiff_t>(stretches[earlier].stored_first);
        return length_of(earlier) == end - first &&
               std::equal(events + f_first, events + f_first + length_of(earlier), events + first,
                          [](const Event& x, const Event& y) {
                              return x.block == y.block && x.size == y.size;
                          });
    };
    const auto found = std::find_if(candidates.begin(), candidates.end(), same_events);
    if (found == candidates.end()) {
        if (candidates.size() < kMostPerHash) {
            candidates.push_back(s.same_as);
        }
        return;
    }
    // Its events are the earlier one's: the next stretch writes over its own.
    s.same_as = *found;
    s.stored_first = stretches[*found].stored_first;
    stream_.events_.resize(static_cast<std::size_t>(first));

    // Its call sites are the earlier one's but where they differ (the
    // sizes can be equal when a number's limbs grow from another caller):
    // those are kept as changes, and its own written over by the next.
    const auto stacks = stream_.stacks_.begin();
    const auto own = static_cast<std::ptrdiff_t>(s.stacks_first);
    const auto base = static_cast<std::ptrdiff_t>(stretches[*found].stacks_first);
    if (s.allocations > std::numeric_limits<std::uint32_t>::max()) {
        return; // the changes' offsets would not fit: its own are kept
    }
    std::vector<AllocationStream::StackChange>& changes = stream_.stack_changes_;
    s.changes_first = changes.size();
    for (std::uint32_t k = 0; k < s.allocations; ++k) {
        if (stacks[own + k] != stacks[base + k]) {
            changes.push_back({k, stacks[own + k]});
        }
    }
    s.changes_end = changes.size();
    s.stacks_first = stretches[*found].stacks_first;
    stream_.stacks_.resize(static_cast<std::size_t>(own));
}

AllocationStream read_allocation_stream(RecordSource& source) {
    AllocationStream stream;
    trace::TraceWalker walker;
    AllocationStreamBuilder builder(walker, stream);
    builder.expect_trace_bytes(source.size_hint());
    walker.walk(source, builder);
    builder.finish();
    return stream;
}

} // namespace tlsheap::replay
