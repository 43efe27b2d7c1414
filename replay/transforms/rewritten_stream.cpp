#include "rewritten_stream.h"

#include "tlsheap/trace_meta.h"

#include <algorithm>

namespace tlsheap::replay {

namespace {

using trace::Record;
using trace::Tag;

// Keys of added blocks are apart from input seqs.
constexpr std::uint64_t kAddedKey = 1ull << 63;
// Added blocks live at addresses no process is given (the top of the 64-bit
// space), each in its own 64 KiB slot, never reused: unique while alive.
constexpr std::uint64_t kAddedAddressBase = 0xffff800000000000ull;
constexpr std::uint64_t kAddedAddressStride = 1ull << 16;
// Call sites of added blocks: stack ids and frame addresses no recording uses.
constexpr std::uint32_t kCallSiteStackBase = 0xffff0000u;
constexpr std::uint64_t kCallSiteFrameBase = 0xffffffffffff0000ull;

bool is_activity(const Record& r, bool begin, const char* name) {
    return r.tag == Tag::Activity && r.begin == begin && r.key == name;
}

} // namespace

RewrittenStream::RewrittenStream(std::unique_ptr<RecordSource> input, std::string name,
                                 std::string spec_text)
    : input_(std::move(input)), name_(std::move(name)), spec_text_(std::move(spec_text)) {}

bool RewrittenStream::next(Record& out) {
    for (;;) {
        if (!out_.empty()) {
            if (!std::holds_alternative<ReservedPlace>(out_.front()))
                break;
            if (splice_front_place())
                continue;
        } else if (input_done_) {
            return false;
        }
        if (!input_->next(in_)) {
            input_done_ = true;
            end_of_input();
            continue;
        }
        on_record(in_);
    }
    OutputEntry entry = std::move(out_.front());
    out_.pop_front();
    if (auto* r = std::get_if<Record>(&entry)) {
        if (r->tag == Tag::Alloc) {
            const std::uint64_t key = r->seq;
            r->seq = ++out_seq_;
            last_time_ns_ = std::max(last_time_ns_, r->time_ns);
            if (r->address != 0)
                out_seq_of_[key] = r->seq;
        } else if (r->tag == Tag::Free) {
            r->seq = ++out_seq_;
            last_time_ns_ = std::max(last_time_ns_, r->time_ns);
            std::uint64_t alloc_seq = 0;
            if (r->address != 0 && r->alloc_seq != 0) {
                const auto it = out_seq_of_.find(r->alloc_seq);
                if (it != out_seq_of_.end()) {
                    alloc_seq = it->second;
                    out_seq_of_.erase(it);
                }
            }
            r->alloc_seq = alloc_seq;
        } else if (r->tag == Tag::End) {
            r->end_event_count = out_seq_;
            r->end_crc = 0; // a rewritten stream has no file bytes to check
        }
        out = std::move(*r);
        return true;
    }
    const AddedEvent& e = std::get<AddedEvent>(entry);
    out = Record{};
    out.tag = e.alloc ? Tag::Alloc : Tag::Free;
    out.seq = ++out_seq_;
    out.time_ns = last_time_ns_;
    out.address = e.address;
    out.stack = e.stack;
    if (e.alloc) {
        out.count = 1;
        out.size = e.size;
        out_seq_of_[e.key] = out.seq;
    } else {
        const auto it = out_seq_of_.find(e.key);
        if (it != out_seq_of_.end()) {
            out.alloc_seq = it->second;
            out_seq_of_.erase(it);
        }
    }
    return true;
}

// The place at the front of the output, once released (or once the input
// ended: nothing more can fill it), is replaced by what was put in it.
bool RewrittenStream::splice_front_place() {
    const std::uint64_t id = std::get<ReservedPlace>(out_.front()).id;
    const auto it = places_.find(id);
    if (it == places_.end()) {
        out_.pop_front();
        return true;
    }
    if (!it->second.released && !input_done_)
        return false;
    std::deque<OutputEntry> entries = std::move(it->second.entries);
    places_.erase(it);
    out_.pop_front();
    out_.insert(out_.begin(), std::make_move_iterator(entries.begin()),
                std::make_move_iterator(entries.end()));
    return true;
}

std::uint64_t RewrittenStream::reserve_output() {
    const std::uint64_t id = next_place_++;
    places_.emplace(id, Place{});
    place_entry(ReservedPlace{id});
    return id;
}

void RewrittenStream::release_place(std::uint64_t place) {
    if (const auto it = places_.find(place); it != places_.end())
        it->second.released = true;
}

void RewrittenStream::on_record(const Record& r) {
    track(r);
    observe(r);
    if (r.tag == Tag::End) {
        end_of_input();
        queue(r);
        return;
    }
    if (!initialized_) {
        if (trace::TraceInfo::describes(r.tag)) {
            queue(r);
            return;
        }
        start_output();
    }
    if (holding_setup_) {
        setup_.push_back(r);
        if (is_activity(r, false, trace::kActivitySslSetup)) {
            holding_setup_ = false;
            std::vector<Record> held;
            held.swap(setup_);
            for (const Record& h : held)
                handle(h);
        }
        return;
    }
    if (is_activity(r, true, trace::kActivitySslSetup)) {
        holding_setup_ = true;
        setup_.push_back(r);
        return;
    }
    handle(r);
}

void RewrittenStream::start_output() {
    initialize();
    initialized_ = true;
    Record meta;
    meta.tag = Tag::Meta;
    meta.key = trace::meta::kTransform;
    meta.value = spec_text_;
    queue(meta);
    for (std::size_t i = 0; i < call_sites_.size(); ++i) {
        const std::uint64_t address = kCallSiteFrameBase + 16 * i;
        Record stack;
        stack.tag = Tag::Stack;
        stack.stack = kCallSiteStackBase + static_cast<std::uint32_t>(i);
        stack.frames = {address};
        queue(stack);
        Record frame;
        frame.tag = Tag::Frame;
        frame.address = address;
        trace::SourceLevel level;
        level.function = call_sites_[i];
        level.in_mbedtls = true;
        frame.levels = {level};
        queue(frame);
    }
}

void RewrittenStream::track(const Record& r) {
    const trace::Phase previous = walker_.phase();
    walker_.feed(r);
    switch (r.tag) {
    case Tag::Meta:
        if (r.key == trace::meta::kTransport && r.value == trace::meta::kTransportDatagram)
            refuse_dtls("meta transport=datagram");
        break;
    case Tag::TlsRecord:
        // The schemes model records over a stream (5-byte headers); a trace
        // that does not say its transport still shows DTLS by its records.
        if ((r.flags & trace::kRecordDatagram) != 0)
            refuse_dtls("its TLS records came in UDP datagrams");
        break;
    case Tag::Phase:
        if (r.phase == trace::Phase::Handshake)
            check_roles();
        if (previous == trace::Phase::Handshake && r.phase != trace::Phase::Handshake)
            check_tls_records();
        break;
    case Tag::Free:
        emitted_.erase(r.alloc_seq);
        break;
    default:
        break;
    }
}

void RewrittenStream::end_of_input() {
    if (ended_)
        return;
    ended_ = true;
    if (!initialized_)
        start_output();
    check_roles();
    check_tls_records();
    if (holding_setup_) {
        holding_setup_ = false;
        std::vector<Record> held;
        held.swap(setup_);
        for (const Record& h : held)
            handle(h);
    }
    finish();
}

void RewrittenStream::check_roles() const {
    if (!walker_.roles_seen())
        refuse("the trace has no Role records, so which allocations are the record buffers "
               "(in_buf/out_buf) is unknown");
}

void RewrittenStream::check_tls_records() const {
    if (walker_.tls_records() == 0)
        refuse("the trace has no TlsRecord records (recorded without the transport tap), so "
               "the records that crossed the transport are unknown");
}

void RewrittenStream::refuse_dtls(const std::string& evidence) const {
    refuse("it is a DTLS recording (" + evidence + "), " + dtls_refusal());
}

void RewrittenStream::refuse(const std::string& why) const {
    throw TransformError("transform " + name_ + " does not apply: " + why);
}

void RewrittenStream::queue(OutputEntry entry) {
    if (capture_ != nullptr && std::holds_alternative<AddedEvent>(entry)) {
        capture_->push_back(std::get<AddedEvent>(entry));
        return;
    }
    place_entry(std::move(entry));
}

void RewrittenStream::place_entry(OutputEntry entry) {
    if (filling_) {
        places_.at(*filling_).entries.push_back(std::move(entry));
        return;
    }
    out_.push_back(std::move(entry));
}

void RewrittenStream::emit_input(const Record& r) {
    switch (r.tag) {
    case Tag::Alloc:
        if (r.address != 0) {
            if (const std::optional<trace::Role> role = walker_.role_of(r.seq)) {
                // The scheme never allocates mbedTLS's static record buffer.
                InputBlock block;
                if (const InputBlock* b = live_block(r.seq)) {
                    block = *b;
                } else {
                    block.seq = r.seq;
                    block.address = r.address;
                    block.size = r.bytes_asked();
                    block.stack = r.stack;
                    block.phase = phase();
                    block.state = state();
                }
                released_.insert(r.seq);
                replace_record_buffer(*role, block);
                return;
            }
            if (live_block(r.seq) != nullptr)
                emitted_.insert(r.seq);
        }
        break;
    case Tag::Free:
        if (r.address != 0 && r.alloc_seq != 0) {
            if (const auto gone = released_.find(r.alloc_seq); gone != released_.end()) {
                released_.erase(gone);
                // mbedtls_ssl_free frees the current buffers; a buffer the
                // handshake replaced (MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH) is
                // freed during the handshake, after its successor was named.
                const std::uint32_t c = connection();
                const bool record_buffer =
                    r.alloc_seq == walker_.current_buffer(trace::Role::InBuffer, c) ||
                    r.alloc_seq == walker_.current_buffer(trace::Role::OutBuffer, c);
                if (record_buffer && phase() != trace::Phase::Handshake &&
                    buffers_released_.insert(c).second)
                    release_record_buffers();
                return;
            }
        }
        break;
    case Tag::Role:
        if (const InputBlock* b = live_block(r.role_seq); b != nullptr && emitted(b->seq)) {
            // Named only after its allocation went out (no ssl_setup activity
            // to hold back): the scheme lets it go here instead.
            const InputBlock block = *b;
            release_input_block(block.seq, 0);
            replace_record_buffer(r.role, block);
        }
        break;
    default:
        break;
    }
    queue(r);
}

AddedBlock RewrittenStream::add_block(std::uint64_t size, std::uint32_t stack) {
    AddedBlock block;
    block.key = kAddedKey | next_key_++;
    block.address = kAddedAddressBase + kAddedAddressStride * next_slot_++;
    block.size = size;
    queue(AddedEvent{true, block.key, size, block.address, stack});
    return block;
}

void RewrittenStream::free_block(AddedBlock& block, std::uint32_t stack) {
    if (!block)
        return;
    queue(AddedEvent{false, block.key, 0, block.address, stack});
    block = AddedBlock{};
}

void RewrittenStream::release_input_block(std::uint64_t seq, std::uint32_t stack) {
    const InputBlock* block = live_block(seq);
    if (block == nullptr || !emitted(seq))
        return; // freed already in the recording, or not out yet
    queue(AddedEvent{false, seq, 0, block->address, stack});
    released_.insert(seq);
    emitted_.erase(seq);
}

void RewrittenStream::drop_input_block(std::uint64_t seq) {
    if (live_block(seq) == nullptr || emitted(seq))
        return;
    released_.insert(seq);
}

void RewrittenStream::emit_captured(const std::vector<AddedEvent>& events) {
    for (const AddedEvent& e : events)
        place_entry(e);
}

std::uint32_t RewrittenStream::call_site(const std::string& what) {
    call_sites_.push_back(name_ + ": " + what);
    return kCallSiteStackBase + static_cast<std::uint32_t>(call_sites_.size() - 1);
}

std::vector<const InputBlock*> RewrittenStream::live() const {
    std::vector<const InputBlock*> blocks = walker_.live_in_seq_order();
    std::erase_if(blocks, [&](const InputBlock* b) { return released_.count(b->seq) != 0; });
    return blocks;
}

const InputBlock* RewrittenStream::live_block(std::uint64_t seq) const {
    return released_.count(seq) != 0 ? nullptr : walker_.live(seq);
}

} // namespace tlsheap::replay
