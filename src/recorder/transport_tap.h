// Watches the bytes crossing the transport in each direction and reports every
// complete TLS or DTLS record: direction, content type, version, length, and
// the handshake messages that start in it while the handshake is still
// readable. The buffer-scheme models replay record buffers from these. Pure
// logic, no I/O, so it is unit-tested on its own.
//
// DTLS 1.2 (set_datagram): each observe() is one UDP datagram holding whole
// records back to back (RFC 6347 4.1; a record never spans datagrams).
// Records are reported up to the first one that does not parse, which marks
// the direction broken. Handshake records of epoch 0 are plaintext, each a
// run of fragments with 12-byte headers (RFC 6347 4.2.2); epoch >= 1 is
// encrypted. Every DTLS record has flag Datagram, its epoch and sequence, and
//  - Fragment: a fragment in it is shorter than its message (the peer
//    reassembles the message);
//  - ContinuesMessage: a fragment in it has fragment_offset > 0;
//  - Retransmission, per direction: an epoch-0 handshake fragment whose
//    (message_seq, fragment_offset) was seen before; a ChangeCipherSpec in
//    the epoch of an earlier one; an encrypted handshake record (type 22,
//    epoch >= 1) after another in the same epoch with no application data
//    between (a DTLS 1.2 handshake encrypts one message per side, Finished;
//    a renegotiation, off by default in mbedTLS, would be counted as
//    retransmissions). A HelloVerifyRequest exchange is none: the second
//    ClientHello has message_seq 1. tls12_cid records (type 25) hide their
//    real type and are never flagged. Only the first kMaxTrackedFragments
//    fragments of a direction are remembered.
//  - Dropped: the recorder discarded its datagram on purpose; its records
//    still count as seen, so the flight sent again is a retransmission.
#pragma once

#include "tlsheap/trace_format.h"

#include <cstddef>
#include <cstdint>

namespace tlsheap::recorder {

struct ObservedRecord {
    trace::Direction direction = trace::Direction::Out;
    std::uint8_t content_type = 0;
    std::uint16_t version = 0;
    std::uint32_t length = 0;   // payload bytes after the header (and a DTLS CID)
    std::uint8_t flags = 0;     // trace::TlsRecordFlags
    std::uint16_t epoch = 0;    // DTLS only
    std::uint64_t sequence = 0; // DTLS only: the 48-bit record sequence number
    std::uint8_t hs_count = 0;
    std::uint8_t hs_types[32] = {};
};

class TransportTap {
  public:
    using Sink = void (*)(const ObservedRecord& record, void* context);

    // Epoch-0 handshake fragments remembered per direction to recognise a
    // retransmission: a few flights of small fragments.
    static constexpr unsigned kMaxTrackedFragments = 128;

    TransportTap(Sink sink, void* context) : sink_(sink), context_(context) {}

    // Bytes that were really sent or received, in order; in datagram mode
    // one whole datagram. `dropped` (datagram mode only): the recorder
    // discarded this datagram on purpose; its records are reported, flagged.
    void observe(trace::Direction direction, const unsigned char* data, std::size_t size,
                 bool dropped = false);

    // TLS 1.3 keeps handshake records (type 22) in plaintext even after a
    // compatibility ChangeCipherSpec; the recorder says so once it knows.
    void set_tls13(bool on) { tls13_ = on; }

    // DTLS: from now on each observe() is one UDP datagram of DTLS records.
    void set_datagram(bool on) { datagram_ = on; }

    // DTLS: the bytes of connection ID a tls12_cid record carries in that
    // direction (incoming: the recorder's own CID; outgoing: the peer's, once
    // negotiated). 0 until set.
    void set_cid_length(trace::Direction direction, unsigned bytes) {
        side(direction).cid_length = bytes;
    }

    // Length of the record whose header has arrived but whose body has not
    // (0 if none): mbedTLS rejects a record too large for its buffer right
    // after reading the header, before the record is complete. Always 0 for
    // datagrams, which arrive whole.
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
        // DTLS: what a retransmission repeats.
        unsigned cid_length = 0;
        std::uint16_t ccs_epoch = 0;
        bool encrypted_handshake_seen = false;
        std::uint16_t encrypted_handshake_epoch = 0;
        bool application_data_since = false; // since the last encrypted handshake record
        std::uint64_t fragments[kMaxTrackedFragments] = {}; // message_seq << 24 | fragment_offset
        unsigned fragment_count = 0;
    };

    Side& side(trace::Direction d) { return sides_[static_cast<unsigned>(d)]; }
    const Side& side(trace::Direction d) const { return sides_[static_cast<unsigned>(d)]; }
    void start_record(Side& s, trace::Direction direction);
    void consume_handshake(Side& s, const unsigned char* p, std::size_t n);
    void observe_datagram(trace::Direction direction, const unsigned char* data, std::size_t size,
                          bool dropped);
    // Flags of a DTLS record: its handshake fragments, and whether it repeats
    // one seen before.
    static void classify_dtls_record(Side& s, ObservedRecord& r, const unsigned char* body);
    static void read_dtls_fragments(Side& s, ObservedRecord& r, const unsigned char* p,
                                    std::size_t n);
    // False if this fragment was seen before in that direction.
    static bool remember_fragment(Side& s, std::uint64_t key);

    Sink sink_;
    void* context_;
    bool tls13_ = false;
    bool datagram_ = false;
    Side sides_[2];
};

} // namespace tlsheap::recorder
