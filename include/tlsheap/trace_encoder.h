// Encodes trace records on the host (tools that write or rewrite traces:
// symbolization, tests, sample-trace generators). The recorder has its own
// allocation-free writer; both produce the format in trace_format.h.
#pragma once

#include "tlsheap/trace_format.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlsheap::trace {

class RecordEncoder {
  public:
    RecordEncoder& varint(std::uint64_t v) {
        unsigned char b[kMaxVarintBytes];
        payload_.insert(payload_.end(), b, b + varint_encode(v, b));
        return *this;
    }
    RecordEncoder& svarint(std::int64_t v) { return varint(zigzag_encode(v)); }
    RecordEncoder& string(std::string_view s) {
        varint(s.size());
        payload_.insert(payload_.end(), s.begin(), s.end());
        return *this;
    }
    // Appends tag, length and payload to `out`, and clears the payload.
    void emit(Tag tag, std::vector<unsigned char>& out) {
        out.push_back(static_cast<unsigned char>(tag));
        unsigned char b[kMaxVarintBytes];
        out.insert(out.end(), b, b + varint_encode(payload_.size(), b));
        out.insert(out.end(), payload_.begin(), payload_.end());
        payload_.clear();
    }

  private:
    std::vector<unsigned char> payload_;
};

inline std::vector<unsigned char> encode_header(std::uint16_t major = kVersionMajor,
                                                std::uint16_t minor = kVersionMinor) {
    std::vector<unsigned char> h(kMagic, kMagic + sizeof(kMagic));
    h.push_back(static_cast<unsigned char>(major & 0xff));
    h.push_back(static_cast<unsigned char>(major >> 8));
    h.push_back(static_cast<unsigned char>(minor & 0xff));
    h.push_back(static_cast<unsigned char>(minor >> 8));
    return h;
}

// Appends the End record for `bytes` (everything written so far).
inline void encode_end(std::vector<unsigned char>& bytes, std::uint64_t event_count) {
    const std::uint32_t crc = kCrc32c.update(0, bytes.data(), bytes.size());
    RecordEncoder().varint(event_count).varint(crc).emit(Tag::End, bytes);
}

} // namespace tlsheap::trace
