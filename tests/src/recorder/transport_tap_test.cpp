#include "tlsheap/tls_wire.h"
#include "transport_tap.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <vector>

namespace tlsheap::recorder {
namespace {

using trace::Direction;

struct Collected {
    std::vector<ObservedRecord> records;
    static void sink(const ObservedRecord& r, void* self) {
        static_cast<Collected*>(self)->records.push_back(r);
    }
};

std::vector<unsigned char> record(std::uint8_t type, const std::vector<unsigned char>& body) {
    // Built byte by byte: GCC 12 misreads vector::insert here (-Warray-bounds).
    std::vector<unsigned char> r(5 + body.size());
    r[0] = type;
    r[1] = 3;
    r[2] = 3;
    r[3] = static_cast<unsigned char>(body.size() >> 8);
    r[4] = static_cast<unsigned char>(body.size() & 0xff);
    std::copy(body.begin(), body.end(), r.begin() + 5);
    return r;
}

std::vector<unsigned char> handshake(std::uint8_t type, std::size_t length) {
    std::vector<unsigned char> m = {type, static_cast<unsigned char>(length >> 16),
                                    static_cast<unsigned char>((length >> 8) & 0xff),
                                    static_cast<unsigned char>(length & 0xff)};
    m.resize(4 + length, 0xab);
    return m;
}

TEST(TransportTap, ReportsRecordsFedOneByteAtATime) {
    Collected c;
    TransportTap tap(&Collected::sink, &c);
    const auto bytes = record(22, handshake(1, 40)); // ClientHello
    for (unsigned char b : bytes) {
        tap.observe(Direction::Out, &b, 1);
    }
    ASSERT_EQ(c.records.size(), 1u);
    EXPECT_EQ(c.records[0].content_type, 22);
    EXPECT_EQ(c.records[0].version, 0x0303);
    EXPECT_EQ(c.records[0].length, 44u);
    EXPECT_EQ(c.records[0].flags, trace::kRecordPlaintext);
    ASSERT_EQ(c.records[0].hs_count, 1);
    EXPECT_EQ(c.records[0].hs_types[0], 1);
}

TEST(TransportTap, ListsEveryHandshakeMessageInOneRecord) {
    // ServerHello, Certificate, ServerKeyExchange, ServerHelloDone in one record, as OpenSSL sends
    // them.
    std::vector<unsigned char> body;
    for (auto [type, len] : {std::pair{2, 70}, {11, 500}, {12, 150}, {14, 0}}) {
        const auto m = handshake(static_cast<std::uint8_t>(type), static_cast<std::size_t>(len));
        body.insert(body.end(), m.begin(), m.end());
    }
    Collected c;
    TransportTap tap(&Collected::sink, &c);
    const auto bytes = record(22, body);
    tap.observe(Direction::In, bytes.data(), bytes.size());
    ASSERT_EQ(c.records.size(), 1u);
    EXPECT_EQ(c.records[0].direction, Direction::In);
    ASSERT_EQ(c.records[0].hs_count, 4);
    EXPECT_EQ(c.records[0].hs_types[1], 11);
    EXPECT_EQ(c.records[0].hs_types[3], 14);
}

TEST(TransportTap, FollowsAMessageFragmentedAcrossRecords) {
    const auto cert = handshake(11, 3000);
    std::vector<unsigned char> first(cert.begin(), cert.begin() + 1000);
    std::vector<unsigned char> second(cert.begin() + 1000, cert.end());
    second.insert(second.end(), {14, 0, 0, 0}); // ServerHelloDone after the tail
    Collected c;
    TransportTap tap(&Collected::sink, &c);
    for (const auto& r : {record(22, first), record(22, second)}) {
        tap.observe(Direction::In, r.data(), r.size());
    }
    ASSERT_EQ(c.records.size(), 2u);
    ASSERT_EQ(c.records[0].hs_count, 1);
    EXPECT_EQ(c.records[0].hs_types[0], 11);
    EXPECT_EQ(c.records[0].flags & trace::kRecordContinuesMessage, 0);
    EXPECT_NE(c.records[1].flags & trace::kRecordContinuesMessage, 0);
    ASSERT_EQ(c.records[1].hs_count, 1);
    EXPECT_EQ(c.records[1].hs_types[0], 14);
}

TEST(TransportTap, HandshakeAfterChangeCipherSpecIsEncryptedInTls12) {
    Collected c;
    TransportTap tap(&Collected::sink, &c);
    for (const auto& r : {record(20, {1}), record(22, std::vector<unsigned char>(40, 0x17))}) {
        tap.observe(Direction::Out, r.data(), r.size());
    }
    ASSERT_EQ(c.records.size(), 2u);
    EXPECT_EQ(c.records[1].flags & trace::kRecordPlaintext, 0);
    EXPECT_EQ(c.records[1].hs_count, 0);
}

TEST(TransportTap, Tls13KeepsHandshakeRecordsReadableAfterCompatibilityCcs) {
    Collected c;
    TransportTap tap(&Collected::sink, &c);
    tap.set_tls13(true);
    for (const auto& r : {record(20, {1}), record(22, handshake(1, 10))}) {
        tap.observe(Direction::Out, r.data(), r.size());
    }
    ASSERT_EQ(c.records.size(), 2u);
    EXPECT_EQ(c.records[1].hs_count, 1);
}

TEST(TransportTap, StopsAtBytesThatAreNotTls) {
    Collected c;
    TransportTap tap(&Collected::sink, &c);
    const std::string http = "HTTP/1.0 400 Bad Request\r\n\r\n";
    tap.observe(Direction::In, reinterpret_cast<const unsigned char*>(http.data()), http.size());
    EXPECT_TRUE(tap.broken(Direction::In));
    EXPECT_FALSE(tap.broken(Direction::Out));
    EXPECT_TRUE(c.records.empty());
}

TEST(TransportTap, ZeroLengthRecordIsReported) {
    Collected c;
    TransportTap tap(&Collected::sink, &c);
    const auto r = record(23, {});
    tap.observe(Direction::In, r.data(), r.size());
    ASSERT_EQ(c.records.size(), 1u);
    EXPECT_EQ(c.records[0].length, 0u);
}

// --- DTLS 1.2 -------------------------------------------------------------

void put_be(std::vector<unsigned char>& out, std::uint64_t v, unsigned bytes) {
    for (unsigned i = bytes; i-- > 0;) {
        out.push_back(static_cast<unsigned char>((v >> (8 * i)) & 0xff));
    }
}

// A DTLS 1.2 record (RFC 6347 4.1): type, version 0xfefd, epoch, 48-bit
// sequence_number, length, body; a tls12_cid record (type 25) carries its CID
// between sequence_number and length (RFC 9146 section 4).
std::vector<unsigned char> dtls_record(std::uint8_t type, std::uint16_t epoch,
                                       std::uint64_t sequence,
                                       const std::vector<unsigned char>& body,
                                       const std::vector<unsigned char>& cid = {}) {
    std::vector<unsigned char> r;
    r.push_back(type);
    put_be(r, 0xfefd, 2);
    put_be(r, epoch, 2);
    put_be(r, sequence, 6);
    r.insert(r.end(), cid.begin(), cid.end());
    put_be(r, body.size(), 2);
    r.insert(r.end(), body.begin(), body.end());
    return r;
}

// A handshake fragment (RFC 6347 4.2.2): msg_type, length, message_seq,
// fragment_offset, fragment_length, then fragment_length bytes.
std::vector<unsigned char> fragment(std::uint8_t type, std::uint32_t length,
                                    std::uint16_t message_seq, std::uint32_t offset,
                                    std::uint32_t fragment_length) {
    std::vector<unsigned char> f;
    f.push_back(type);
    put_be(f, length, 3);
    put_be(f, message_seq, 2);
    put_be(f, offset, 3);
    put_be(f, fragment_length, 3);
    f.resize(f.size() + fragment_length, 0xab);
    return f;
}

// A whole message in one fragment.
std::vector<unsigned char> message(std::uint8_t type, std::uint32_t length,
                                   std::uint16_t message_seq) {
    return fragment(type, length, message_seq, 0, length);
}

std::vector<unsigned char> datagram(std::initializer_list<std::vector<unsigned char>> records) {
    std::vector<unsigned char> d;
    for (const auto& r : records) {
        d.insert(d.end(), r.begin(), r.end());
    }
    return d;
}

struct DtlsTap {
    Collected c;
    TransportTap tap{&Collected::sink, &c};
    DtlsTap() { tap.set_datagram(true); }
    void send(Direction d, const std::vector<unsigned char>& bytes, bool dropped = false) {
        tap.observe(d, bytes.data(), bytes.size(), dropped);
    }
    unsigned flags(std::size_t i) const { return c.records.at(i).flags; }
};

constexpr unsigned kHandshakeFlags = trace::kRecordDatagram | trace::kRecordPlaintext;

TEST(TransportTapDtls, ReadsEveryRecordOfADatagram) {
    DtlsTap t;
    // The end of a client's flight: ChangeCipherSpec, then Finished in epoch 1.
    t.send(Direction::Out, datagram({dtls_record(20, 0, 0x010203040506, {1}),
                                     dtls_record(22, 1, 0, std::vector<unsigned char>(40, 0x5a))}));
    ASSERT_EQ(t.c.records.size(), 2u);
    const ObservedRecord& ccs = t.c.records[0];
    EXPECT_EQ(ccs.content_type, 20);
    EXPECT_EQ(ccs.version, tls::kDtls12Version);
    EXPECT_EQ(ccs.epoch, 0);
    EXPECT_EQ(ccs.sequence, 0x010203040506u);
    EXPECT_EQ(ccs.length, 1u);
    EXPECT_EQ(ccs.flags, trace::kRecordDatagram);
    const ObservedRecord& finished = t.c.records[1];
    EXPECT_EQ(finished.content_type, 22);
    EXPECT_EQ(finished.epoch, 1);
    EXPECT_EQ(finished.sequence, 0u);
    EXPECT_EQ(finished.length, 40u);
    EXPECT_EQ(finished.flags, trace::kRecordDatagram); // encrypted: nothing read
    EXPECT_EQ(finished.hs_count, 0);
    EXPECT_EQ(t.tap.pending_length(Direction::Out), 0u);
    EXPECT_FALSE(t.tap.broken(Direction::Out));
}

TEST(TransportTapDtls, FollowsAClientHelloFragmentedOverThreeRecords) {
    DtlsTap t;
    for (std::uint32_t i = 0; i < 3; ++i) {
        t.send(Direction::Out, dtls_record(22, 0, i, fragment(1, 300, 0, 100 * i, 100)));
    }
    ASSERT_EQ(t.c.records.size(), 3u);
    EXPECT_EQ(t.flags(0), kHandshakeFlags | trace::kRecordFragment);
    ASSERT_EQ(t.c.records[0].hs_count, 1);
    EXPECT_EQ(t.c.records[0].hs_types[0], tls::kClientHello);
    for (std::size_t i = 1; i < 3; ++i) {
        EXPECT_EQ(t.flags(i),
                  kHandshakeFlags | trace::kRecordFragment | trace::kRecordContinuesMessage);
        EXPECT_EQ(t.c.records[i].hs_count, 0);
        EXPECT_EQ(t.c.records[i].length, 112u);
    }
}

TEST(TransportTapDtls, ListsEveryMessageOfARecord) {
    DtlsTap t;
    std::vector<unsigned char> body;
    for (const auto& m : {message(2, 70, 1), message(11, 500, 2), message(14, 0, 3)}) {
        body.insert(body.end(), m.begin(), m.end());
    }
    t.send(Direction::In, dtls_record(22, 0, 1, body));
    ASSERT_EQ(t.c.records.size(), 1u);
    EXPECT_EQ(t.flags(0), kHandshakeFlags);
    ASSERT_EQ(t.c.records[0].hs_count, 3);
    EXPECT_EQ(t.c.records[0].hs_types[1], tls::kCertificate);
    EXPECT_EQ(t.c.records[0].hs_types[2], tls::kServerHelloDone);
}

TEST(TransportTapDtls, FlagsAFlightSentAgain) {
    DtlsTap t;
    // Certificate in two fragments, ClientKeyExchange, CCS, Finished: sent,
    // then sent again with new record sequence numbers after a timeout.
    for (std::uint64_t base : {10u, 20u}) {
        t.send(Direction::Out,
               datagram({dtls_record(22, 0, base, fragment(11, 200, 2, 0, 120)),
                         dtls_record(22, 0, base + 1, fragment(11, 200, 2, 120, 80))}));
        t.send(Direction::Out,
               datagram({dtls_record(22, 0, base + 2, message(16, 66, 3)),
                         dtls_record(20, 0, base + 3, {1}),
                         dtls_record(22, 1, base - 10, std::vector<unsigned char>(40, 0))}));
    }
    ASSERT_EQ(t.c.records.size(), 10u);
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(t.flags(i) & trace::kRecordRetransmission, 0u) << "record " << i;
        EXPECT_NE(t.flags(i + 5) & trace::kRecordRetransmission, 0u) << "record " << i + 5;
        EXPECT_EQ(t.flags(i + 5) & ~trace::kRecordRetransmission, t.flags(i)) << "record " << i;
    }
    // Received records are another direction: the same message_seq is new there.
    t.send(Direction::In, dtls_record(22, 0, 3, message(2, 70, 2)));
    EXPECT_EQ(t.flags(10), kHandshakeFlags);
    // After application data, an encrypted handshake record (a renegotiation's
    // HelloRequest) is not a retransmission.
    t.send(Direction::Out, dtls_record(23, 1, 1, std::vector<unsigned char>(30, 0)));
    t.send(Direction::Out, dtls_record(22, 1, 2, std::vector<unsigned char>(30, 0)));
    EXPECT_EQ(t.flags(12), trace::kRecordDatagram);
}

TEST(TransportTapDtls, HelloVerifyRequestExchangeIsNoRetransmission) {
    DtlsTap t;
    // RFC 6347 4.2.1/4.2.2: ClientHello (seq 0), HelloVerifyRequest (seq 0),
    // ClientHello with the cookie (seq 1), ServerHello (seq 1), ...
    t.send(Direction::Out, dtls_record(22, 0, 0, message(1, 120, 0)));
    t.send(Direction::In, dtls_record(22, 0, 0, message(3, 35, 0)));
    t.send(Direction::Out, dtls_record(22, 0, 1, message(1, 152, 1)));
    t.send(Direction::In, datagram({dtls_record(22, 0, 1, message(2, 70, 1)),
                                    dtls_record(22, 0, 2, message(11, 400, 2)),
                                    dtls_record(22, 0, 3, message(14, 0, 3))}));
    ASSERT_EQ(t.c.records.size(), 6u);
    for (std::size_t i = 0; i < t.c.records.size(); ++i) {
        EXPECT_EQ(t.flags(i), kHandshakeFlags) << "record " << i;
    }
    EXPECT_EQ(t.c.records[1].hs_types[0], tls::kHelloVerifyRequest);
}

TEST(TransportTapDtls, ReadsTheLengthAfterAConnectionId) {
    DtlsTap t;
    t.tap.set_cid_length(Direction::In, 4);
    const std::vector<unsigned char> cid = {0xde, 0xad, 0xbe, 0xef};
    t.send(Direction::In,
           datagram({dtls_record(tls::kTls12Cid, 1, 7, std::vector<unsigned char>(30, 0x11), cid),
                     dtls_record(tls::kTls12Cid, 1, 8, std::vector<unsigned char>(2, 0x22), cid)}));
    ASSERT_EQ(t.c.records.size(), 2u);
    EXPECT_EQ(t.c.records[0].content_type, tls::kTls12Cid);
    EXPECT_EQ(t.c.records[0].epoch, 1);
    EXPECT_EQ(t.c.records[0].sequence, 7u);
    EXPECT_EQ(t.c.records[0].length, 30u);
    EXPECT_EQ(t.c.records[1].sequence, 8u);
    EXPECT_EQ(t.c.records[1].length, 2u);
    EXPECT_FALSE(t.tap.broken(Direction::In));
    // Outgoing records carry the peer's CID, of its own length (none here).
    t.send(Direction::Out, dtls_record(tls::kTls12Cid, 1, 1, std::vector<unsigned char>(9, 0)));
    ASSERT_EQ(t.c.records.size(), 3u);
    EXPECT_EQ(t.c.records[2].length, 9u);
}

TEST(TransportTapDtls, FlagsTheRecordsOfADroppedDatagram) {
    DtlsTap t;
    const auto flight = [](std::uint64_t sequence) {
        return datagram({dtls_record(22, 0, sequence, message(2, 70, 1)),
                         dtls_record(22, 0, sequence + 1, message(14, 0, 2))});
    };
    t.send(Direction::In, flight(1), /*dropped=*/true);
    t.send(Direction::In, flight(3)); // the server's retransmission
    ASSERT_EQ(t.c.records.size(), 4u);
    EXPECT_EQ(t.flags(0), kHandshakeFlags | trace::kRecordDropped);
    EXPECT_EQ(t.flags(1), kHandshakeFlags | trace::kRecordDropped);
    EXPECT_EQ(t.flags(2), kHandshakeFlags | trace::kRecordRetransmission);
    EXPECT_EQ(t.flags(3), kHandshakeFlags | trace::kRecordRetransmission);
}

TEST(TransportTapDtls, StopsAtADatagramThatIsNotDtls) {
    DtlsTap t;
    const std::string text = "HTTP/1.0 400 Bad Request\r\n\r\n";
    t.send(Direction::In, std::vector<unsigned char>(text.begin(), text.end()));
    EXPECT_TRUE(t.tap.broken(Direction::In));
    EXPECT_FALSE(t.tap.broken(Direction::Out));
    t.send(Direction::In, dtls_record(22, 0, 0, message(2, 70, 0)));
    EXPECT_TRUE(t.c.records.empty());
}

TEST(TransportTapDtls, ARecordLongerThanItsDatagramBreaksTheDirection) {
    DtlsTap t;
    auto cut = dtls_record(23, 1, 5, std::vector<unsigned char>(50, 0));
    cut.resize(cut.size() - 10);
    t.send(Direction::Out, datagram({dtls_record(21, 1, 4, {1, 0}), cut}));
    ASSERT_EQ(t.c.records.size(), 1u); // the alert before it
    EXPECT_TRUE(t.tap.broken(Direction::Out));
    // A header cut short, and a CID record whose CID length is unknown to be
    // 8 bytes: the same.
    DtlsTap u;
    u.send(Direction::In, std::vector<unsigned char>{22, 0xfe, 0xfd, 0, 0});
    EXPECT_TRUE(u.tap.broken(Direction::In));
    DtlsTap v;
    v.send(Direction::In,
           dtls_record(tls::kTls12Cid, 1, 0, {}, std::vector<unsigned char>(8, 0xff)));
    EXPECT_TRUE(v.tap.broken(Direction::In));
}

TEST(TransportTapDtls, StreamModeKnowsNoConnectionIdRecords) {
    Collected c;
    TransportTap tap(&Collected::sink, &c);
    const auto r = record(tls::kTls12Cid, {1, 2, 3});
    tap.observe(Direction::In, r.data(), r.size());
    EXPECT_TRUE(tap.broken(Direction::In));
}

} // namespace
} // namespace tlsheap::recorder
