// Builds small traces in memory for tests, event by event, in the recorder's
// own encoding (addresses delta-coded, frees naming their allocation).
#pragma once

#include "tlsheap/trace_encoder.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tlsheap::testing {

class TraceBuilder {
  public:
    TraceBuilder() : bytes_(trace::encode_header()) {}

    TraceBuilder& meta(const std::string& key, const std::string& value) {
        trace::RecordEncoder().string(key).string(value).emit(trace::Tag::Meta, bytes_);
        return *this;
    }
    TraceBuilder& state_name(std::uint32_t id, const std::string& name) {
        trace::RecordEncoder().varint(id).string(name).emit(trace::Tag::StateName, bytes_);
        return *this;
    }
    TraceBuilder& phase(trace::Phase p) {
        trace::RecordEncoder().varint(static_cast<unsigned>(p)).emit(trace::Tag::Phase, bytes_);
        return *this;
    }
    TraceBuilder& step(std::uint32_t state) {
        trace::RecordEncoder().varint(state).emit(trace::Tag::StepBegin, bytes_);
        return *this;
    }
    TraceBuilder& step_end(std::uint32_t state_after) {
        trace::RecordEncoder().varint(state_after).svarint(0).emit(trace::Tag::StepEnd, bytes_);
        return *this;
    }
    // Returns the allocation's seq.
    std::uint64_t alloc(std::uint64_t size, std::uint64_t address, std::uint32_t stack = 0) {
        ++seq_;
        trace::RecordEncoder()
            .varint(10)
            .varint(1)
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
            .varint(0)
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
    std::vector<unsigned char> finish() {
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
    std::uint64_t seq_ = 0;
    std::uint64_t last_ = 0;
    std::map<std::uint64_t, std::uint64_t> live_;
};

} // namespace tlsheap::testing
