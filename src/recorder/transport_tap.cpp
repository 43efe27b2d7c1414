#include "transport_tap.h"

#include "tlsheap/tls_wire.h"

namespace tlsheap::recorder {

namespace {

using tls::kAlert;
using tls::kApplicationData;
using tls::kChangeCipherSpec;
using tls::kHandshake;
using tls::kHeartbeat;

// RFC 8446 5.2: ciphertext may exceed 2^14 by at most 256 bytes; TLS 1.2
// allows 2048. Anything longer is not a TLS record stream.
constexpr std::uint32_t kMaxRecordLength = (1u << 14) + 2048;

bool known_content_type(std::uint8_t t) {
    return t == kChangeCipherSpec || t == kAlert || t == kHandshake || t == kApplicationData ||
           t == kHeartbeat;
}

} // namespace

void TransportTap::start_record(Side& s, trace::Direction direction) {
    s.current = ObservedRecord{};
    s.current.direction = direction;
    s.current.content_type = s.header[0];
    s.current.version = static_cast<std::uint16_t>((s.header[1] << 8) | s.header[2]);
    s.current.length = static_cast<std::uint32_t>((s.header[3] << 8) | s.header[4]);
    s.body_left = s.current.length;
    s.in_body = true;
    s.plaintext_handshake = s.current.content_type == kHandshake && (tls13_ || !s.ccs_seen);
    if (s.plaintext_handshake) {
        s.current.flags |= trace::kRecordPlaintext;
        if (s.hs_left > 0 || s.hs_header_have > 0) {
            s.current.flags |= trace::kRecordContinuesMessage;
        }
    } else if (s.current.content_type == kHandshake) {
        // Encrypted handshake (Finished, renegotiation): nothing to reassemble.
        s.hs_left = 0;
        s.hs_header_have = 0;
    }
}

void TransportTap::consume_handshake(Side& s, const unsigned char* p, std::size_t n) {
    while (n > 0) {
        if (s.hs_left > 0) {
            const std::size_t take = n < s.hs_left ? n : s.hs_left;
            s.hs_left -= static_cast<std::uint32_t>(take);
            p += take;
            n -= take;
            continue;
        }
        s.hs_header[s.hs_header_have++] = *p++;
        --n;
        if (s.hs_header_have == 4) {
            s.hs_header_have = 0;
            if (s.current.hs_count < sizeof(s.current.hs_types)) {
                s.current.hs_types[s.current.hs_count++] = s.hs_header[0];
            }
            s.hs_left = (static_cast<std::uint32_t>(s.hs_header[1]) << 16) |
                        (static_cast<std::uint32_t>(s.hs_header[2]) << 8) | s.hs_header[3];
        }
    }
}

void TransportTap::observe(trace::Direction direction, const unsigned char* data,
                           std::size_t size) {
    Side& s = side(direction);
    while (size > 0 && !s.broken) {
        if (!s.in_body) {
            s.header[s.header_have++] = *data++;
            --size;
            if (s.header_have < 5) {
                continue;
            }
            s.header_have = 0;
            const std::uint32_t length =
                static_cast<std::uint32_t>((s.header[3] << 8) | s.header[4]);
            if (!known_content_type(s.header[0]) || s.header[1] != 3 || length > kMaxRecordLength) {
                s.broken = true;
                return;
            }
            start_record(s, direction);
        } else {
            const std::size_t take = size < s.body_left ? size : s.body_left;
            if (s.plaintext_handshake) {
                consume_handshake(s, data, take);
            }
            s.body_left -= static_cast<std::uint32_t>(take);
            data += take;
            size -= take;
        }
        if (s.in_body && s.body_left == 0) {
            s.in_body = false;
            if (s.current.content_type == kChangeCipherSpec) {
                s.ccs_seen = true;
            }
            sink_(s.current, context_);
        }
    }
}

} // namespace tlsheap::recorder
