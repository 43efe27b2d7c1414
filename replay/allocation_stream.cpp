#include "tlsheap/allocation_stream.h"

#include <algorithm>
#include <limits>

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
           alloc_details_.capacity() * sizeof(AllocDetail) + anchors_.capacity() * sizeof(Anchor);
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
    if (slot >= in_stream_.size()) {
        in_stream_.resize(std::size_t{slot} + 1);
    }
    const std::uint64_t bytes = r.count * r.size;
    const bool overflow = r.size != 0 && bytes / r.size != r.count;
    in_stream_[slot] = bytes != 0 && !overflow;
    if (!in_stream_[slot]) {
        return; // on an embedded heap an empty request returns NULL: no model places it
    }
    anchor_if_needed(r.seq, r.time_ns, true);
    AllocationStream::Event e;
    e.block = slot;
    if (bytes >= AllocationStream::kLargeSize) {
        e.size = AllocationStream::kLargeSize;
        stream_.large_sizes_.push_back(bytes);
    } else {
        e.size = static_cast<std::uint32_t>(bytes);
    }
    stream_.events_.push_back(e);
    stream_.alloc_details_.push_back(
        {r.stack, static_cast<std::uint32_t>(r.time_ns - stream_.anchors_.back().time_ns)});
    stream_.block_capacity_ = std::max(stream_.block_capacity_, slot + 1);
}

void AllocationStreamBuilder::on_free(const trace::Record& r, trace::FreeKind kind,
                                      const trace::LiveAllocation* /*block*/, std::uint32_t slot) {
    note_first_event();
    if (kind != trace::FreeKind::Known || slot >= in_stream_.size() || !in_stream_[slot]) {
        return;
    }
    in_stream_[slot] = false;
    anchor_if_needed(r.seq, r.time_ns, false);
    stream_.events_.push_back({slot | AllocationStream::kFreeBit, 0});
}

void AllocationStreamBuilder::finish() {
    note_first_event();
}

AllocationStream read_allocation_stream(RecordSource& source) {
    AllocationStream stream;
    trace::TraceWalker walker;
    AllocationStreamBuilder builder(walker, stream);
    walker.walk(source, builder);
    builder.finish();
    return stream;
}

} // namespace tlsheap::replay
