#include "tlsheap/allocation_stream.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

namespace tlsheap::replay {

Moment AllocationStream::moment_of(std::uint64_t event, std::uint64_t allocation) const {
    // The last anchor at or before the event.
    const auto after =
        std::upper_bound(anchors_.begin(), anchors_.end(), event,
                         [](std::uint64_t e, const Anchor& a) { return e < a.event; });
    Moment m;
    if (after == anchors_.begin() || allocation >= alloc_details_.size()) {
        return m;
    }
    const Anchor& a = *(after - 1);
    const AllocDetail& d = alloc_details_[allocation];
    m.seq = a.seq + (event - a.event);
    m.time_ns = a.time_ns + d.time_offset;
    m.phase = a.phase;
    m.state = a.state;
    m.stack = d.stack;
    m.connection = a.connection;
    return m;
}

std::size_t AllocationStream::memory_bytes() const {
    return events_.capacity() * sizeof(Event) + large_sizes_.capacity() * sizeof(std::uint64_t) +
           alloc_details_.capacity() * sizeof(AllocDetail) + anchors_.capacity() * sizeof(Anchor) +
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
    const std::uint64_t event = stream_.events_.size();
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
    anchors.push_back(a);
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
    stream_.events_.push_back(e);
    stream_.alloc_details_.push_back(
        {r.stack, static_cast<std::uint32_t>(r.time_ns - stream_.anchors_.back().time_ns)});
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
    stream_.events_.push_back({index | AllocationStream::kFreeBit, 0});
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
    stream_.alloc_details_.reserve(events / 2);
}

void AllocationStreamBuilder::finish() {
    note_first_event();
    find_stretches();
}

void AllocationStreamBuilder::find_stretches() {
    using Stretch = AllocationStream::Stretch;
    const std::vector<AllocationStream::Anchor>& anchors = stream_.anchors_;
    const AllocationStream::Events& events = stream_.events_;
    std::vector<Stretch>& stretches = stream_.stretches_;
    stretches.clear();
    for (std::size_t a = 0; a < anchors.size(); ++a) {
        const bool starts = a == 0 || (anchors[a].phase == trace::Phase::Setup &&
                                       anchors[a - 1].phase != trace::Phase::Setup);
        if (starts) {
            Stretch s;
            s.first_event = anchors[a].event; // the first anchor's is 0
            s.first_anchor = a;
            stretches.push_back(s);
        }
        stretches.back().max_connection =
            std::max(stretches.back().max_connection, anchors[a].connection);
    }
    // Stretches with equal events share the first one's index: grouped by
    // length and a hash of their events, then compared in full (with at
    // most 8 different ones a hash: a trace made to collide costs no more).
    constexpr std::size_t kMostPerHash = 8;
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> firsts;
    for (std::size_t i = 0; i < stretches.size(); ++i) {
        Stretch& s = stretches[i];
        s.same_as = static_cast<std::uint32_t>(i);
        const std::uint64_t end =
            i + 1 < stretches.size() ? stretches[i + 1].first_event : events.size();
        bool large = false;
        std::uint64_t hash = end - s.first_event;
        for (std::uint64_t e = s.first_event; e < end; ++e) {
            const AllocationStream::Event event = events[e];
            if ((event.block & AllocationStream::kFreeBit) == 0) {
                ++s.allocations;
                large = large || event.size == AllocationStream::kLargeSize;
            }
            hash = (hash ^ (std::uint64_t{event.block} << 32 | event.size)) * 0x100000001b3ull;
            hash ^= hash >> 29;
        }
        if (large) {
            continue; // its sizes are elsewhere (large_sizes): never the same
        }
        std::vector<std::uint32_t>& candidates = firsts[hash];
        auto equal = [&](std::uint32_t first) {
            const Stretch& f = stretches[first];
            const std::uint64_t f_end =
                first + 1 < stretches.size() ? stretches[first + 1].first_event : events.size();
            return f_end - f.first_event == end - s.first_event &&
                   std::equal(
                       events.begin() + static_cast<std::ptrdiff_t>(f.first_event),
                       events.begin() + static_cast<std::ptrdiff_t>(f_end),
                       events.begin() + static_cast<std::ptrdiff_t>(s.first_event),
                       [](const AllocationStream::Event& x, const AllocationStream::Event& y) {
                           return x.block == y.block && x.size == y.size;
                       });
        };
        const auto found = std::find_if(candidates.begin(), candidates.end(), equal);
        if (found != candidates.end()) {
            s.same_as = *found;
        } else if (candidates.size() < kMostPerHash) {
            candidates.push_back(s.same_as);
        }
    }
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
