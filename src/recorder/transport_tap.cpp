#include "transport_tap.h"

#include "tlsheap/tls_wire.h"

namespace tlsheap::recorder {

namespace {

using tls::kAlert;
using tls::kApplicationData;
using tls::kChangeCipherSpec;
using tls::kHandshake;
using tls::kHeartbeat;
using tls::kTls12Cid;

// RFC 8446 5.2: ciphertext may exceed 2^14 by at most 256 bytes; TLS 1.2
// allows 2048. Anything longer is not a TLS record stream.
constexpr std::uint32_t kMaxRecordLength = (1u << 14) + 2048;

bool known_content_type(std::uint8_t t) {
    return t == kChangeCipherSpec || t == kAlert || t == kHandshake || t == kApplicationData ||
           t == kHeartbeat;
}

// Big-endian unsigned of `bytes` bytes.
std::uint64_t read_be(const unsigned char* p, unsigned bytes) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < bytes; ++i) {
        v = (v << 8) | p[i];
    }
    return v;
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

void TransportTap::observe(trace::Direction direction, const unsigned char* data, std::size_t size,
                           bool dropped) {
    if (datagram_) {
        observe_datagram(direction, data, size, dropped);
        return;
    }
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

void TransportTap::observe_datagram(trace::Direction direction, const unsigned char* data,
                                    std::size_t size, bool dropped) {
    using tls::kDtlsRecordHeaderSize;
    Side& s = side(direction);
    while (size > 0 && !s.broken) {
        const std::uint8_t type = data[0];
        const std::size_t cid = type == kTls12Cid ? s.cid_length : 0;
        const std::size_t header = kDtlsRecordHeaderSize + cid;
        if (size < header || (!known_content_type(type) && type != kTls12Cid) ||
            data[1] != tls::kDtlsVersionMajor) {
            s.broken = true;
            return;
        }
        // The length field follows the sequence number and the CID.
        const auto length = static_cast<std::uint32_t>(read_be(data + header - 2, 2));
        if (length > kMaxRecordLength || length > size - header) {
            s.broken = true;
            return;
        }
        ObservedRecord r;
        r.direction = direction;
        r.content_type = type;
        r.version = static_cast<std::uint16_t>(read_be(data + 1, 2));
        r.epoch = static_cast<std::uint16_t>(read_be(data + 3, 2));
        r.sequence = read_be(data + 5, 6);
        r.length = length;
        r.flags = static_cast<std::uint8_t>(trace::kRecordDatagram |
                                            (dropped ? trace::kRecordDropped : 0));
        classify_dtls_record(s, r, data + header);
        sink_(r, context_);
        data += header + length;
        size -= header + length;
    }
}

void TransportTap::classify_dtls_record(Side& s, ObservedRecord& r, const unsigned char* body) {
    const bool repeated = [&] {
        switch (r.content_type) {
        case kChangeCipherSpec: {
            const bool again = s.ccs_seen && s.ccs_epoch == r.epoch;
            s.ccs_seen = true;
            s.ccs_epoch = r.epoch;
            return again;
        }
        case kApplicationData:
            s.application_data_since = true;
            return false;
        case kHandshake: {
            if (r.epoch == 0) {
                return false; // decided fragment by fragment
            }
            const bool again = s.encrypted_handshake_seen &&
                               s.encrypted_handshake_epoch == r.epoch && !s.application_data_since;
            s.encrypted_handshake_seen = true;
            s.encrypted_handshake_epoch = r.epoch;
            s.application_data_since = false;
            return again;
        }
        default:
            return false;
        }
    }();
    if (repeated) {
        r.flags |= trace::kRecordRetransmission;
    }
    if (r.content_type == kHandshake && r.epoch == 0) {
        r.flags |= trace::kRecordPlaintext;
        read_dtls_fragments(s, r, body, r.length);
    }
}

void TransportTap::read_dtls_fragments(Side& s, ObservedRecord& r, const unsigned char* p,
                                       std::size_t n) {
    using tls::kDtlsHandshakeHeaderSize;
    // A fragment that does not fit its record or its message ends the
    // reading of this record's fragments (mbedTLS drops such a record).
    while (n >= kDtlsHandshakeHeaderSize) {
        const auto message_length = read_be(p + 1, 3);
        const auto message_seq = read_be(p + 4, 2);
        const auto offset = read_be(p + 6, 3);
        const auto fragment_length = read_be(p + 9, 3);
        if (fragment_length > n - kDtlsHandshakeHeaderSize ||
            offset + fragment_length > message_length) {
            return;
        }
        if (offset == 0) {
            if (r.hs_count < sizeof(r.hs_types)) {
                r.hs_types[r.hs_count++] = p[0];
            }
        } else {
            r.flags |= trace::kRecordContinuesMessage;
        }
        if (fragment_length < message_length) {
            r.flags |= trace::kRecordFragment;
        }
        if (!remember_fragment(s, message_seq << 24 | offset)) {
            r.flags |= trace::kRecordRetransmission;
        }
        const auto taken = kDtlsHandshakeHeaderSize + static_cast<std::size_t>(fragment_length);
        p += taken;
        n -= taken;
    }
}

bool TransportTap::remember_fragment(Side& s, std::uint64_t key) {
    for (unsigned i = 0; i < s.fragment_count; ++i) {
        if (s.fragments[i] == key) {
            return false;
        }
    }
    if (s.fragment_count < kMaxTrackedFragments) {
        s.fragments[s.fragment_count++] = key;
    }
    return true;
}

} // namespace tlsheap::recorder
