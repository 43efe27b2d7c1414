#include "recording.h"

#include "painted_stack.h"

#include <ctime>

namespace tlsheap::recorder {

namespace {

std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

} // namespace

bool Recording::start(const char* path, bool capture_stacks) {
    if (!writer_.open(path)) {
        return false;
    }
    capture_stacks_ = capture_stacks;
    last_ns_ = monotonic_ns();
    active_ = true;
    return true;
}

std::uint64_t Recording::elapsed_ns() {
    const std::uint64_t now = monotonic_ns();
    const std::uint64_t dt = now - last_ns_;
    last_ns_ = now;
    return dt;
}

// 0 for NULL, else 1 + zigzag(delta from the previous non-NULL address):
// heap addresses cluster, so deltas are short.
std::uint64_t Recording::address_code(const void* pointer) {
    if (pointer == nullptr) {
        return 0;
    }
    const auto address = reinterpret_cast<std::uintptr_t>(pointer);
    // In 64 bits: on a 32-bit ABI a uintptr_t difference wraps instead of going negative.
    const auto delta = static_cast<std::int64_t>(static_cast<std::uint64_t>(address)) -
                       static_cast<std::int64_t>(static_cast<std::uint64_t>(last_address_));
    last_address_ = address;
    return trace::zigzag_encode(delta) + 1;
}

std::uint32_t Recording::stack_id(const std::uintptr_t* frames, unsigned depth) {
    if (depth == 0) {
        return 0;
    }
    const StackTable::Interned interned = stacks_.intern(frames, depth);
    if (interned.is_new) {
        PayloadBuilder p;
        p.varint(interned.id);
        p.varint(depth);
        std::uintptr_t previous = 0;
        for (unsigned i = 0; i < depth; ++i) {
            p.svarint(static_cast<std::int64_t>(static_cast<std::uint64_t>(frames[i])) -
                      static_cast<std::int64_t>(static_cast<std::uint64_t>(previous)));
            previous = frames[i];
        }
        writer_.record(trace::Tag::Stack, p);
    }
    return interned.id;
}

void Recording::meta(std::string_view key, std::string_view value) {
    PayloadBuilder p;
    p.string(key);
    p.string(value);
    writer_.record(trace::Tag::Meta, p);
}

void Recording::config(std::string_view name, std::string_view value) {
    PayloadBuilder p;
    p.string(name);
    p.string(value);
    writer_.record(trace::Tag::Config, p);
}

void Recording::state_name(int id, std::string_view name) {
    PayloadBuilder p;
    p.varint(static_cast<std::uint64_t>(id));
    p.string(name);
    writer_.record(trace::Tag::StateName, p);
}

void Recording::module(std::uint64_t start, std::uint64_t end, std::uint64_t bias,
                       std::string_view path, std::string_view build_id) {
    static std::uint64_t next_id = 0;
    PayloadBuilder p;
    p.varint(next_id++);
    p.varint(start);
    p.varint(end);
    p.varint(bias);
    p.string(path);
    p.string(build_id);
    writer_.record(trace::Tag::Module, p);
}

void Recording::on_alloc(std::size_t count, std::size_t size, const void* result,
                         const std::uintptr_t* frames, unsigned depth) {
    const std::uint32_t stack = stack_id(frames, depth);
    ++seq_;
    const std::uint64_t dt = elapsed_ns();
    const std::uint64_t address = address_code(result);
    // Five varints: at most 50 bytes.
    static_assert(5 * trace::kMaxVarintBytes <= TraceWriter::kMaxSmallPayload);
    if (unsigned char* const payload = writer_.begin_small_record()) {
        unsigned char* p = payload;
        p += trace::varint_encode(dt, p);
        p += trace::varint_encode(count, p);
        p += trace::varint_encode(size, p);
        p += trace::varint_encode(address, p);
        p += trace::varint_encode(stack, p);
        writer_.end_small_record(trace::Tag::Alloc, static_cast<std::size_t>(p - payload));
    }
    if (result != nullptr) {
        live_.insert(reinterpret_cast<std::uintptr_t>(result), seq_);
    }
}

void Recording::on_free(const void* pointer, const std::uintptr_t* frames, unsigned depth) {
    const std::uint32_t stack = stack_id(frames, depth);
    ++seq_;
    std::uint64_t back = 0;
    if (pointer != nullptr) {
        const std::uint64_t alloc_seq = live_.take(reinterpret_cast<std::uintptr_t>(pointer));
        back = alloc_seq == 0 ? 0 : seq_ - alloc_seq;
    }
    const std::uint64_t dt = elapsed_ns();
    const std::uint64_t address = address_code(pointer);
    static_assert(4 * trace::kMaxVarintBytes <= TraceWriter::kMaxSmallPayload);
    if (unsigned char* const payload = writer_.begin_small_record()) {
        unsigned char* p = payload;
        p += trace::varint_encode(dt, p);
        p += trace::varint_encode(address, p);
        p += trace::varint_encode(back, p);
        p += trace::varint_encode(stack, p);
        writer_.end_small_record(trace::Tag::Free, static_cast<std::size_t>(p - payload));
    }
}

// The context records end the painted stack's interval and begin the next.
// These methods keep their own frame small and do the writing in separate
// functions: whatever their frame holds lies between the driver's call and
// the depth at which the next interval can be measured.
void Recording::connection(std::uint32_t id) {
    if (connection_written_ && id == connection_) {
        return;
    }
    const StackInterval ended = end_stack_interval();
    write_stack_interval(ended);
    write_connection(id);
    begin_stack_interval(__builtin_frame_address(0));
}

void Recording::write_connection(std::uint32_t id) {
    connection_ = id;
    connection_written_ = true;
    PayloadBuilder p;
    p.varint(id);
    writer_.record(trace::Tag::Connection, p);
}

void Recording::phase(trace::Phase phase) {
    const StackInterval ended = end_stack_interval();
    write_stack_interval(ended);
    write_phase(phase);
    begin_stack_interval(__builtin_frame_address(0));
}

void Recording::write_phase(trace::Phase phase) {
    PayloadBuilder p;
    p.varint(static_cast<std::uint64_t>(phase));
    writer_.record(trace::Tag::Phase, p);
    writer_.flush();
}

void Recording::step_begin(int state) {
    const StackInterval ended = end_stack_interval();
    write_stack_interval(ended);
    write_step_begin(state);
    begin_stack_interval(__builtin_frame_address(0));
}

void Recording::write_step_begin(int state) {
    PayloadBuilder p;
    p.varint(static_cast<std::uint64_t>(state));
    writer_.record(trace::Tag::StepBegin, p);
}

void Recording::step_end(int state_after, int ret) {
    const StackInterval ended = end_stack_interval();
    write_stack_interval(ended);
    write_step_end(state_after, ret);
    begin_stack_interval(__builtin_frame_address(0));
}

void Recording::write_step_end(int state_after, int ret) {
    PayloadBuilder p;
    p.varint(static_cast<std::uint64_t>(state_after));
    p.svarint(ret);
    // Not flushed: a write(2) per step was an eighth of the recording's cost
    // inside the handshake. Phases and outcomes flush, and a stopped recorder
    // (SIGTERM at a timeout, a crash) flushes from its signal handler.
    writer_.record(trace::Tag::StepEnd, p);
}

void Recording::activity(bool begin, std::string_view name) {
    // The driver's call: the record is the recorder's work, not mbedTLS's stack.
    const StackExcursion excursion;
    write_activity(begin, name);
}

void Recording::write_activity(bool begin, std::string_view name) {
    PayloadBuilder p;
    p.varint(begin ? 1 : 0);
    p.string(name);
    writer_.record(trace::Tag::Activity, p);
}

void Recording::role(const void* pointer, trace::Role role) {
    // The driver's call: the record is the recorder's work, not mbedTLS's stack.
    const StackExcursion excursion;
    write_role(pointer, role);
}

void Recording::write_role(const void* pointer, trace::Role role) {
    const std::uint64_t seq = seq_of(pointer);
    if (seq == 0) {
        return;
    }
    PayloadBuilder p;
    p.varint(seq);
    p.varint(static_cast<std::uint64_t>(role));
    writer_.record(trace::Tag::Role, p);
}

void Recording::outcome(trace::OutcomeKind kind, int ret, int state, std::string_view text) {
    // The driver's call: the record is the recorder's work, not mbedTLS's stack.
    const StackExcursion excursion;
    write_outcome(kind, ret, state, text);
}

void Recording::write_outcome(trace::OutcomeKind kind, int ret, int state, std::string_view text) {
    PayloadBuilder p;
    p.varint(static_cast<std::uint64_t>(kind));
    p.svarint(ret);
    p.varint(static_cast<std::uint64_t>(state < 0 ? 0 : state));
    p.string(text);
    writer_.record(trace::Tag::Outcome, p);
    writer_.flush();
}

void Recording::pool_stats(std::uint64_t pool_size, std::uint64_t header_size,
                           std::uint64_t max_used, std::uint64_t max_blocks, std::uint64_t cur_used,
                           std::uint64_t cur_blocks, std::uint64_t pool_base) {
    const StackExcursion excursion;
    write_pool_stats(pool_size, header_size, max_used, max_blocks, cur_used, cur_blocks, pool_base);
}

void Recording::write_pool_stats(std::uint64_t pool_size, std::uint64_t header_size,
                                 std::uint64_t max_used, std::uint64_t max_blocks,
                                 std::uint64_t cur_used, std::uint64_t cur_blocks,
                                 std::uint64_t pool_base) {
    PayloadBuilder p;
    p.varint(pool_size);
    p.varint(header_size);
    p.varint(max_used);
    p.varint(max_blocks);
    p.varint(cur_used);
    p.varint(cur_blocks);
    p.varint(pool_base);
    writer_.record(trace::Tag::PoolStats, p);
}

void Recording::write_stack_interval(const StackInterval& ended) {
    if (ended.deepest == 0) {
        return;
    }
    PayloadBuilder p;
    p.varint(ended.deepest);
    p.varint(ended.base);
    writer_.record(trace::Tag::StackHighWater, p);
}

void Recording::on_tls_record(const ObservedRecord& record, void* self) {
    auto* recording = static_cast<Recording*>(self);
    if (!recording->active_) {
        return;
    }
    PayloadBuilder p;
    p.varint(static_cast<std::uint64_t>(record.direction));
    p.varint(record.content_type);
    p.varint(record.version);
    p.varint(record.length);
    p.varint(record.flags);
    p.varint(record.hs_count);
    for (unsigned i = 0; i < record.hs_count; ++i) {
        p.varint(record.hs_types[i]);
    }
    if ((record.flags & trace::kRecordDatagram) != 0) {
        p.varint(record.epoch);
        p.varint(record.sequence);
    }
    recording->writer_.record(trace::Tag::TlsRecord, p);
}

std::uint64_t Recording::seq_of(const void* pointer) const {
    return live_.find(reinterpret_cast<std::uintptr_t>(pointer));
}

bool Recording::finish() {
    if (!active_) {
        return true;
    }
    write_stack_interval(end_stack_interval());
    active_ = false;
    writer_.finish(seq_);
    return !writer_.failed();
}

} // namespace tlsheap::recorder
