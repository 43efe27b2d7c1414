// Hand-made recordings for the transform tests: every record a transform
// reads (metadata, config, states, stacks and frames, phases, steps,
// activities, roles, TLS records, outcomes), encoded as the recorder encodes
// them, and read back through TraceReader as a RecordSource.
#pragma once

#include "tlsheap/record_source.h"
#include "tlsheap/trace_encoder.h"
#include "tlsheap/trace_reader.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tlsheap::testing {

class TransformTraceBuilder {
  public:
    TransformTraceBuilder() : bytes_(trace::encode_header()) {}

    TransformTraceBuilder& meta(const std::string& key, const std::string& value) {
        trace::RecordEncoder().string(key).string(value).emit(trace::Tag::Meta, bytes_);
        return *this;
    }
    TransformTraceBuilder& config(const std::string& name, const std::string& value = "") {
        trace::RecordEncoder().string(name).string(value).emit(trace::Tag::Config, bytes_);
        return *this;
    }
    TransformTraceBuilder& state_name(std::uint32_t id, const std::string& name) {
        trace::RecordEncoder().varint(id).string(name).emit(trace::Tag::StateName, bytes_);
        return *this;
    }
    // A stack of one frame whose one level is `function` (mbedTLS code).
    TransformTraceBuilder& stack(std::uint32_t id, std::uint64_t frame_address) {
        trace::RecordEncoder()
            .varint(id)
            .varint(1)
            .svarint(static_cast<std::int64_t>(frame_address))
            .emit(trace::Tag::Stack, bytes_);
        return *this;
    }
    TransformTraceBuilder& frame(std::uint64_t address, const std::vector<std::string>& functions) {
        trace::RecordEncoder e;
        e.varint(address).varint(functions.size());
        for (const std::string& f : functions)
            e.string(f).string("library/x.c").varint(1).varint(trace::kFrameInMbedtls);
        e.emit(trace::Tag::Frame, bytes_);
        return *this;
    }
    TransformTraceBuilder& phase(trace::Phase p) {
        trace::RecordEncoder().varint(static_cast<unsigned>(p)).emit(trace::Tag::Phase, bytes_);
        return *this;
    }
    TransformTraceBuilder& step(std::uint32_t state) {
        trace::RecordEncoder().varint(state).emit(trace::Tag::StepBegin, bytes_);
        return *this;
    }
    TransformTraceBuilder& step_end(std::uint32_t state_after, std::int64_t ret = 0) {
        trace::RecordEncoder().varint(state_after).svarint(ret).emit(trace::Tag::StepEnd, bytes_);
        return *this;
    }
    TransformTraceBuilder& activity(bool begin, const std::string& name) {
        trace::RecordEncoder()
            .varint(begin ? 1 : 0)
            .string(name)
            .emit(trace::Tag::Activity, bytes_);
        return *this;
    }
    // Returns the allocation's seq.
    std::uint64_t alloc(std::uint64_t size, std::uint64_t address, std::uint32_t stack = 1) {
        ++seq_;
        trace::RecordEncoder()
            .varint(10)
            .varint(1)
            .varint(size)
            .varint(code(address))
            .varint(stack)
            .emit(trace::Tag::Alloc, bytes_);
        live_[address] = seq_;
        return seq_;
    }
    TransformTraceBuilder& free(std::uint64_t address) {
        ++seq_;
        std::uint64_t back = 0;
        if (auto it = live_.find(address); it != live_.end()) {
            back = seq_ - it->second;
            live_.erase(it);
        }
        trace::RecordEncoder()
            .varint(10)
            .varint(code(address))
            .varint(back)
            .varint(1)
            .emit(trace::Tag::Free, bytes_);
        return *this;
    }
    TransformTraceBuilder& role(std::uint64_t seq, trace::Role role) {
        trace::RecordEncoder()
            .varint(seq)
            .varint(static_cast<unsigned>(role))
            .emit(trace::Tag::Role, bytes_);
        return *this;
    }
    TransformTraceBuilder& record(trace::Direction direction, std::uint8_t content_type,
                                  std::uint32_t length, std::vector<std::uint8_t> hs_types = {},
                                  bool plaintext = false) {
        trace::RecordEncoder e;
        e.varint(static_cast<unsigned>(direction))
            .varint(content_type)
            .varint(0x0303)
            .varint(length)
            .varint(plaintext ? trace::kRecordPlaintext : 0)
            .varint(hs_types.size());
        for (const std::uint8_t t : hs_types)
            e.varint(t);
        e.emit(trace::Tag::TlsRecord, bytes_);
        return *this;
    }
    // A plaintext handshake record starting the given messages.
    TransformTraceBuilder& handshake(trace::Direction direction, std::uint32_t length,
                                     std::vector<std::uint8_t> hs_types) {
        return record(direction, 22, length, std::move(hs_types), true);
    }
    TransformTraceBuilder& outcome(trace::OutcomeKind kind, std::int64_t ret = 0,
                                   std::uint32_t state = 0, const std::string& text = "") {
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

  private:
    std::uint64_t code(std::uint64_t address) {
        if (address == 0)
            return 0;
        const auto delta = static_cast<std::int64_t>(address - last_);
        last_ = address;
        return trace::zigzag_encode(delta) + 1;
    }

    std::vector<unsigned char> bytes_;
    std::uint64_t seq_ = 0;
    std::uint64_t last_ = 0;
    std::map<std::uint64_t, std::uint64_t> live_;
};

// A trace in memory or on disk as a RecordSource that owns its reader.
class OwnedTraceSource final : public replay::RecordSource {
  public:
    explicit OwnedTraceSource(std::unique_ptr<trace::TraceReader> reader)
        : reader_(std::move(reader)) {}
    static std::unique_ptr<replay::RecordSource> from_bytes(std::vector<unsigned char> bytes) {
        return std::make_unique<OwnedTraceSource>(trace::TraceReader::from_bytes(std::move(bytes)));
    }
    static std::unique_ptr<replay::RecordSource> from_file(const std::string& path) {
        return std::make_unique<OwnedTraceSource>(std::make_unique<trace::TraceReader>(path));
    }
    bool next(trace::Record& out) override { return reader_->next(out); }
    bool complete() const override { return reader_->complete(); }
    bool truncated() const override { return reader_->truncated(); }
    std::string truncation_message() const override { return reader_->truncation_message(); }

  private:
    std::unique_ptr<trace::TraceReader> reader_;
};

// Records made in the test, as a source.
class VectorSource final : public replay::RecordSource {
  public:
    explicit VectorSource(std::vector<trace::Record> records) : records_(std::move(records)) {}
    bool next(trace::Record& out) override {
        if (next_ == records_.size())
            return false;
        out = records_[next_++];
        return true;
    }
    bool complete() const override { return true; }
    bool truncated() const override { return false; }
    std::string truncation_message() const override { return ""; }

  private:
    std::vector<trace::Record> records_;
    std::size_t next_ = 0;
};

// Every record a source yields.
inline std::vector<trace::Record> drain(replay::RecordSource& source) {
    std::vector<trace::Record> records;
    trace::Record r;
    while (source.next(r))
        records.push_back(r);
    return records;
}

} // namespace tlsheap::testing
