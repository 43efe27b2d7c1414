// Builds small traces in memory for tests, record by record, in the
// recorder's own encoding (addresses delta-coded, frees naming their
// allocation): events, and every record a transform reads (metadata, config,
// states, stacks and frames, connections, phases, steps, activities, roles,
// TLS records, outcomes).
#pragma once

#include "tlsheap/trace_encoder.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tlsheap::testing {

class TraceBuilder {
  public:
    // `default_stack`: the stack id of allocations and frees that name none.
    explicit TraceBuilder(std::uint32_t default_stack = 0)
        : bytes_(trace::encode_header()), default_stack_(default_stack) {}

    TraceBuilder& meta(const std::string& key, const std::string& value) {
        trace::RecordEncoder().string(key).string(value).emit(trace::Tag::Meta, bytes_);
        return *this;
    }
    TraceBuilder& config(const std::string& name, const std::string& value = "") {
        trace::RecordEncoder().string(name).string(value).emit(trace::Tag::Config, bytes_);
        return *this;
    }
    TraceBuilder& state_name(std::uint32_t id, const std::string& name) {
        trace::RecordEncoder().varint(id).string(name).emit(trace::Tag::StateName, bytes_);
        return *this;
    }
    // A loaded module: [start, end) mapped with `bias`, as the recorder reads
    // it from dl_iterate_phdr.
    TraceBuilder& module(std::uint32_t id, std::uint64_t start, std::uint64_t end,
                         std::uint64_t bias, const std::string& path,
                         const std::string& build_id = "") {
        trace::RecordEncoder()
            .varint(id)
            .varint(start)
            .varint(end)
            .varint(bias)
            .string(path)
            .string(build_id)
            .emit(trace::Tag::Module, bytes_);
        return *this;
    }
    // A stack of one frame.
    TraceBuilder& stack(std::uint32_t id, std::uint64_t frame_address) {
        trace::RecordEncoder()
            .varint(id)
            .varint(1)
            .svarint(static_cast<std::int64_t>(frame_address))
            .emit(trace::Tag::Stack, bytes_);
        return *this;
    }
    // A stack of several frames, innermost first.
    TraceBuilder& stack(std::uint32_t id, const std::vector<std::uint64_t>& frame_addresses) {
        trace::RecordEncoder e;
        e.varint(id).varint(frame_addresses.size());
        std::uint64_t previous = 0;
        for (const std::uint64_t address : frame_addresses) {
            e.svarint(static_cast<std::int64_t>(address - previous));
            previous = address;
        }
        e.emit(trace::Tag::Stack, bytes_);
        return *this;
    }
    // A frame whose levels are `functions` (innermost first), in mbedTLS code
    // unless `in_mbedtls` says otherwise.
    TraceBuilder& frame(std::uint64_t address, const std::vector<std::string>& functions,
                        bool in_mbedtls = true) {
        trace::RecordEncoder e;
        e.varint(address).varint(functions.size());
        for (const std::string& f : functions) {
            e.string(f)
                .string("library/x.c")
                .varint(1)
                .varint(in_mbedtls ? trace::kFrameInMbedtls : 0);
        }
        e.emit(trace::Tag::Frame, bytes_);
        return *this;
    }
    TraceBuilder& phase(trace::Phase p) {
        trace::RecordEncoder().varint(static_cast<unsigned>(p)).emit(trace::Tag::Phase, bytes_);
        return *this;
    }
    // The connection whose code runs from here (format 1.1).
    TraceBuilder& connection(std::uint32_t id) {
        trace::RecordEncoder().varint(id).emit(trace::Tag::Connection, bytes_);
        return *this;
    }
    TraceBuilder& step(std::uint32_t state) {
        trace::RecordEncoder().varint(state).emit(trace::Tag::StepBegin, bytes_);
        return *this;
    }
    TraceBuilder& step_end(std::uint32_t state_after, std::int64_t ret = 0) {
        trace::RecordEncoder().varint(state_after).svarint(ret).emit(trace::Tag::StepEnd, bytes_);
        return *this;
    }
    // A painted-stack interval ended (format 1.4): bytes below the stack's top.
    TraceBuilder& stack_high_water(std::uint64_t deepest, std::uint64_t base) {
        trace::RecordEncoder().varint(deepest).varint(base).emit(trace::Tag::StackHighWater,
                                                                 bytes_);
        return *this;
    }
    TraceBuilder& activity(bool begin, const std::string& name) {
        trace::RecordEncoder()
            .varint(begin ? 1 : 0)
            .string(name)
            .emit(trace::Tag::Activity, bytes_);
        return *this;
    }
    // Returns the allocation's seq.
    std::uint64_t alloc(std::uint64_t size, std::uint64_t address) {
        return alloc(size, address, default_stack_);
    }
    std::uint64_t alloc(std::uint64_t size, std::uint64_t address, std::uint32_t stack) {
        return calloc(1, size, address, stack);
    }
    // calloc(count, size), the product as the recording has it (it may overflow).
    std::uint64_t calloc(std::uint64_t count, std::uint64_t size, std::uint64_t address,
                         std::uint32_t stack) {
        ++seq_;
        trace::RecordEncoder()
            .varint(10)
            .varint(count)
            .varint(size)
            .varint(code(address))
            .varint(stack)
            .emit(trace::Tag::Alloc, bytes_);
        if (address != 0) {
            live_[address] = seq_;
        }
        return seq_;
    }
    // A free the recorder matched (alloc_seq from its table), or, with
    // `alloc_seq` given, whatever the test wants the record to say.
    TraceBuilder& free(std::uint64_t address, std::int64_t alloc_seq = -1) {
        ++seq_;
        std::uint64_t back = 0;
        if (alloc_seq >= 0) {
            back = alloc_seq == 0 ? 0 : seq_ - static_cast<std::uint64_t>(alloc_seq);
        } else if (auto it = live_.find(address); it != live_.end()) {
            back = seq_ - it->second;
            live_.erase(it);
        }
        trace::RecordEncoder()
            .varint(10)
            .varint(code(address))
            .varint(back)
            .varint(default_stack_)
            .emit(trace::Tag::Free, bytes_);
        return *this;
    }
    TraceBuilder& role(std::uint64_t seq, trace::Role role) {
        trace::RecordEncoder()
            .varint(seq)
            .varint(static_cast<unsigned>(role))
            .emit(trace::Tag::Role, bytes_);
        return *this;
    }
    TraceBuilder& record(trace::Direction direction, std::uint8_t content_type,
                         std::uint32_t length, std::vector<std::uint8_t> hs_types = {},
                         bool plaintext = false) {
        trace::RecordEncoder e;
        e.varint(static_cast<unsigned>(direction))
            .varint(content_type)
            .varint(0x0303)
            .varint(length)
            .varint(plaintext ? trace::kRecordPlaintext : 0)
            .varint(hs_types.size());
        for (const std::uint8_t t : hs_types) {
            e.varint(t);
        }
        e.emit(trace::Tag::TlsRecord, bytes_);
        return *this;
    }
    // A DTLS record (format 1.5): flag Datagram set, epoch and sequence after
    // the handshake types.
    TraceBuilder& datagram_record(trace::Direction direction, std::uint8_t content_type,
                                  std::uint32_t length, std::uint64_t epoch, std::uint64_t sequence,
                                  std::uint8_t flags = 0, std::vector<std::uint8_t> hs_types = {}) {
        trace::RecordEncoder e;
        e.varint(static_cast<unsigned>(direction))
            .varint(content_type)
            .varint(0xfefd)
            .varint(length)
            .varint(flags | trace::kRecordDatagram)
            .varint(hs_types.size());
        for (const std::uint8_t t : hs_types) {
            e.varint(t);
        }
        e.varint(epoch).varint(sequence).emit(trace::Tag::TlsRecord, bytes_);
        return *this;
    }
    // A plaintext handshake record starting the given messages.
    TraceBuilder& handshake(trace::Direction direction, std::uint32_t length,
                            std::vector<std::uint8_t> hs_types) {
        return record(direction, 22, length, std::move(hs_types), true);
    }
    TraceBuilder& outcome(trace::OutcomeKind kind, std::int64_t ret = 0, std::uint32_t state = 0,
                          const std::string& text = "") {
        trace::RecordEncoder()
            .varint(static_cast<unsigned>(kind))
            .svarint(ret)
            .varint(state)
            .string(text)
            .emit(trace::Tag::Outcome, bytes_);
        return *this;
    }
    std::vector<unsigned char> finish() const {
        std::vector<unsigned char> out = bytes_;
        trace::encode_end(out, seq_);
        return out;
    }
    std::vector<unsigned char> unfinished() const { return bytes_; }

  private:
    std::uint64_t code(std::uint64_t address) {
        if (address == 0) {
            return 0;
        }
        const auto delta = static_cast<std::int64_t>(address - last_);
        last_ = address;
        return trace::zigzag_encode(delta) + 1;
    }

    std::vector<unsigned char> bytes_;
    std::uint32_t default_stack_;
    std::uint64_t seq_ = 0;
    std::uint64_t last_ = 0;
    std::map<std::uint64_t, std::uint64_t> live_;
};

} // namespace tlsheap::testing
