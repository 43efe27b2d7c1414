// Watches the bytes crossing the transport in each direction and reports every
// complete TLS record: direction, content type, version, length, and the
// handshake messages that start in it while the handshake is still readable.
// The buffer-scheme models replay record buffers from these. Pure logic, no
// I/O, so it is unit-tested on its own.
#pragma once

#include "tlsheap/trace_format.h"

#include <cstddef>
#include <cstdint>

namespace tlsheap::recorder {

struct ObservedRecord {
    trace::Direction direction = trace::Direction::Out;
    std::uint8_t content_type = 0;
    std::uint16_t version = 0;
    std::uint32_t length = 0; // payload bytes after the 5-byte header
    std::uint8_t flags = 0;   // trace::TlsRecordFlags
    std::uint8_t hs_count = 0;
    std::uint8_t hs_types[32] = {};
};

class TransportTap {
  public:
    using Sink = void (*)(const ObservedRecord& record, void* context);

    TransportTap(Sink sink, void* context) : sink_(sink), context_(context) {}

    // Bytes that were really sent or received, in order.
    void observe(trace::Direction direction, const unsigned char* data, std::size_t size);

    // TLS 1.3 keeps handshake records (type 22) in plaintext even after a
    // compatibility ChangeCipherSpec; the recorder says so once it knows.
    void set_tls13(bool on) { tls13_ = on; }

    // Length of the record whose header has arrived but whose body has not
    // (0 if none): mbedTLS rejects a record too large for its buffer right
    // after reading the header, before the record is complete.
    std::uint32_t pending_length(trace::Direction direction) const {
        return side(direction).in_body ? side(direction).current.length : 0;
    }

    // True once a direction carried bytes that are not TLS records.
    bool broken(trace::Direction direction) const { return side(direction).broken; }

  private:
    struct Side {
        unsigned char header[5] = {};
        unsigned header_have = 0;
        std::uint32_t body_left = 0;
        bool in_body = false;
        bool ccs_seen = false;
        bool broken = false;
        bool plaintext_handshake = false; // the current record's handshake bytes are readable
        ObservedRecord current;
        // Handshake message reassembly across records.
        std::uint32_t hs_left = 0;
        unsigned char hs_header[4] = {};
        unsigned hs_header_have = 0;
    };

    Side& side(trace::Direction d) { return sides_[static_cast<unsigned>(d)]; }
    const Side& side(trace::Direction d) const { return sides_[static_cast<unsigned>(d)]; }
    void start_record(Side& s, trace::Direction direction);
    void consume_handshake(Side& s, const unsigned char* p, std::size_t n);

    Sink sink_;
    void* context_;
    bool tls13_ = false;
    Side sides_[2];
};

} // namespace tlsheap::recorder
