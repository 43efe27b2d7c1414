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

} // namespace
} // namespace tlsheap::recorder
