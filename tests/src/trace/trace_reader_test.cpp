#include "tlsheap/trace_encoder.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/trace_walker.h"
#include "trace_builder.h"

#include <algorithm>
#include <gtest/gtest.h>

namespace tlsheap::trace {
namespace {

using testing::TraceBuilder;

std::vector<unsigned char> sample() {
    TraceBuilder b;
    b.meta(trace::meta::kPointerSize, "4").phase(Phase::Setup);
    b.alloc(100, 0x1000);
    b.alloc(200, 0x2000);
    b.free(0x1000);
    b.phase(Phase::Teardown).free(0x2000);
    return b.finish();
}

std::size_t count_records(TraceReader& reader) {
    Record r;
    std::size_t n = 0;
    while (reader.next(r)) {
        ++n;
    }
    return n;
}

TEST(TraceReader, ReadsACompleteTrace) {
    auto reader = TraceReader::from_bytes(sample());
    EXPECT_EQ(count_records(*reader), 8u); // meta, 2 phases, 4 events, end
    EXPECT_TRUE(reader->complete());
    EXPECT_FALSE(reader->truncated());
    EXPECT_EQ(reader->events_read(), 4u);
}

TEST(TraceReader, EveryTruncationReadsUpToTheLastCompleteRecord) {
    const auto full = sample();
    // Cut after the header at every byte: never a crash, never a throw.
    for (std::size_t cut = kHeaderSize; cut < full.size(); ++cut) {
        auto reader =
            TraceReader::from_bytes({full.begin(), full.begin() + static_cast<long>(cut)});
        Record r;
        std::uint64_t events = 0;
        ASSERT_NO_THROW({
            while (reader->next(r)) {
                events += (r.tag == Tag::Alloc || r.tag == Tag::Free);
            }
        }) << "cut at "
           << cut;
        EXPECT_TRUE(reader->truncated()) << "cut at " << cut;
        EXPECT_FALSE(reader->complete());
        EXPECT_LE(events, 4u);
        EXPECT_NE(reader->truncation_message().find("truncated at byte"), std::string::npos);
    }
}

TEST(TraceReader, FlippedByteIsReportedAsCorruption) {
    const auto full = sample();
    // Any single-bit flip after the header is caught: as a malformed record,
    // an implausible value, or at the latest by the checksum.
    for (std::size_t at = kHeaderSize; at < full.size(); ++at) {
        auto bytes = full;
        bytes[at] ^= 0x04;
        auto reader = TraceReader::from_bytes(bytes);
        bool threw = false;
        try {
            count_records(*reader);
        } catch (const TraceError& e) {
            threw = true;
            EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
        }
        EXPECT_TRUE(threw || reader->truncated()) << "flip at " << at;
    }
}

TEST(TraceReader, RejectsWhatIsNotATrace) {
    EXPECT_THROW(TraceReader::from_bytes({'h', 'e', 'l', 'l', 'o'}), TraceError);
    std::vector<unsigned char> bad(kHeaderSize, 0);
    EXPECT_THROW(TraceReader::from_bytes(bad), TraceError);
    EXPECT_THROW(TraceReader("/nonexistent/trace"), TraceError);
}

TEST(TraceReader, NewerMajorVersionIsRefusedWithAMessage) {
    auto bytes = encode_header(kVersionMajor + 1, 0);
    try {
        TraceReader::from_bytes(bytes, "future.trace");
        FAIL() << "no error";
    } catch (const TraceError& e) {
        EXPECT_NE(std::string(e.what()).find("upgrade tlsheap"), std::string::npos) << e.what();
    }
}

TEST(TraceReader, NewerMinorVersionRecordsAreSkipped) {
    auto bytes = encode_header(kVersionMajor, kVersionMinor + 1);
    RecordEncoder().string("from the future").emit(static_cast<Tag>(0x55), bytes);
    RecordEncoder().string("k").string("v").emit(Tag::Meta, bytes);
    encode_end(bytes, 0);
    auto reader = TraceReader::from_bytes(bytes);
    Record r;
    ASSERT_TRUE(reader->next(r));
    EXPECT_EQ(static_cast<unsigned>(r.tag), 0x55u);
    ASSERT_TRUE(reader->next(r));
    EXPECT_EQ(r.key, "k");
    ASSERT_TRUE(reader->next(r));
    EXPECT_TRUE(reader->complete());
}

TEST(TraceReader, UnknownTagInOwnVersionIsCorruption) {
    auto bytes = encode_header();
    RecordEncoder().varint(1).emit(static_cast<Tag>(0x55), bytes);
    auto reader = TraceReader::from_bytes(bytes);
    Record r;
    EXPECT_THROW(reader->next(r), TraceError);
}

TEST(TraceReader, ConnectionRecordsRoundTrip) {
    TraceBuilder b;
    b.connection(kSharedConnection).alloc(10, 0x1000);
    b.connection(1);
    auto reader = TraceReader::from_bytes(b.finish());
    Record r;
    ASSERT_TRUE(reader->next(r));
    EXPECT_EQ(r.tag, Tag::Connection);
    EXPECT_EQ(r.connection, kSharedConnection);
    ASSERT_TRUE(reader->next(r));
    ASSERT_TRUE(reader->next(r));
    EXPECT_EQ(r.tag, Tag::Connection);
    EXPECT_EQ(r.connection, 1u);
}

// 1.5: a DTLS record (flag Datagram) carries its epoch and 48-bit sequence
// number; a TLS record has neither, as in 1.4.
TEST(TraceReader, DatagramRecordsCarryEpochAndSequence) {
    TraceBuilder b;
    b.datagram_record(Direction::In, 22, 120, 0, 3,
                      kRecordPlaintext | kRecordFragment | kRecordRetransmission, {2, 11});
    b.datagram_record(Direction::Out, 23, 40, 65535, (std::uint64_t{1} << 48) - 1, kRecordDropped);
    b.record(Direction::Out, 23, 50);
    auto reader = TraceReader::from_bytes(b.finish());
    Record r;
    ASSERT_TRUE(reader->next(r));
    EXPECT_EQ(r.tag, Tag::TlsRecord);
    EXPECT_EQ(r.direction, Direction::In);
    EXPECT_EQ(r.version, 0xfefd);
    EXPECT_EQ(r.length, 120u);
    EXPECT_EQ(r.flags,
              kRecordDatagram | kRecordPlaintext | kRecordFragment | kRecordRetransmission);
    EXPECT_EQ(r.hs_types, (std::vector<std::uint8_t>{2, 11}));
    EXPECT_EQ(r.epoch, 0);
    EXPECT_EQ(r.sequence, 3u);
    ASSERT_TRUE(reader->next(r));
    EXPECT_EQ(r.flags, kRecordDatagram | kRecordDropped);
    EXPECT_EQ(r.epoch, 65535);
    EXPECT_EQ(r.sequence, (std::uint64_t{1} << 48) - 1);
    ASSERT_TRUE(reader->next(r));
    EXPECT_EQ(r.flags, 0);
    EXPECT_EQ(r.epoch, 0);
    EXPECT_EQ(r.sequence, 0u);
    EXPECT_EQ(r.length, 50u);
    ASSERT_TRUE(reader->next(r));
    EXPECT_EQ(r.tag, Tag::End);
}

// A 1.4 trace's TLS records read as before.
TEST(TraceReader, FormatOneFourTlsRecordsStillRead) {
    auto bytes = encode_header(kVersionMajor, 4);
    RecordEncoder()
        .varint(1)
        .varint(22)
        .varint(0x0303)
        .varint(91)
        .varint(kRecordPlaintext)
        .varint(1)
        .varint(2)
        .emit(Tag::TlsRecord, bytes);
    encode_end(bytes, 0);
    auto reader = TraceReader::from_bytes(bytes);
    Record r;
    ASSERT_TRUE(reader->next(r));
    EXPECT_EQ(r.length, 91u);
    EXPECT_EQ(r.hs_types, std::vector<std::uint8_t>{2});
    EXPECT_EQ(r.sequence, 0u);
    ASSERT_TRUE(reader->next(r));
    EXPECT_TRUE(reader->complete());
}

// 1.3 added the EarlyData outcome; a 1.2 trace cannot hold it, and its
// status is one the walker knows.
TEST(TraceReader, EarlyDataOutcomeIsFormatOneThree) {
    auto encode = [](std::uint16_t minor, int status) {
        auto bytes = encode_header(kVersionMajor, minor);
        RecordEncoder()
            .varint(static_cast<unsigned>(OutcomeKind::EarlyData))
            .svarint(status)
            .varint(16)
            .string("57 bytes")
            .emit(Tag::Outcome, bytes);
        encode_end(bytes, 0);
        return bytes;
    };
    Record r;
    for (const EarlyDataStatus status :
         {EarlyDataStatus::Accepted, EarlyDataStatus::Rejected, EarlyDataStatus::NotOffered}) {
        auto reader = TraceReader::from_bytes(encode(3, static_cast<int>(status)));
        ASSERT_TRUE(reader->next(r));
        EXPECT_EQ(r.outcome, OutcomeKind::EarlyData);
        EXPECT_EQ(r.ret, static_cast<int>(status));
    }
    EXPECT_THROW(TraceReader::from_bytes(encode(2, 1))->next(r), TraceError);
    for (const int status : {0, 4, -1}) {
        EXPECT_THROW(TraceReader::from_bytes(encode(3, status))->next(r), TraceError) << status;
    }
}

// 1.2 added the Resumed and NotResumed outcomes; a 1.1 trace cannot hold them.
TEST(TraceReader, ResumptionOutcomesAreFormatOneTwo) {
    for (const OutcomeKind kind : {OutcomeKind::Resumed, OutcomeKind::NotResumed}) {
        auto bytes = encode_header(kVersionMajor, 2);
        RecordEncoder()
            .varint(static_cast<unsigned>(kind))
            .svarint(0)
            .varint(16)
            .string("ticket")
            .emit(Tag::Outcome, bytes);
        encode_end(bytes, 0);
        auto reader = TraceReader::from_bytes(bytes);
        Record r;
        ASSERT_TRUE(reader->next(r));
        EXPECT_EQ(r.outcome, kind);
        EXPECT_EQ(r.value, "ticket");

        auto old = encode_header(kVersionMajor, 1);
        RecordEncoder()
            .varint(static_cast<unsigned>(kind))
            .svarint(0)
            .varint(16)
            .string("ticket")
            .emit(Tag::Outcome, old);
        auto old_reader = TraceReader::from_bytes(old);
        EXPECT_THROW(old_reader->next(r), TraceError);
    }
}

// A trace of format 1.0, from before Connection records (the sample trace
// of tls12-ecdhe-ecdsa-p256 as tlsheap recorded it on 2026-11-28, kept byte
// for byte, the paths of the machine that wrote it included): it still
// reads, as one connection after a shared part (trace-format.md).
TEST(TraceReader, FormatOneZeroTraceReadsAsSharedPartAndOneConnection) {
    TraceReader reader(std::string(TLSHEAP_SOURCE_DIR) +
                       "/tests/src/trace/format-1.0-tls12-ecdhe-ecdsa-p256.trace");
    EXPECT_EQ(reader.version_major(), 1u);
    EXPECT_EQ(reader.version_minor(), 0u);
    TraceWalker walker;
    Record r;
    std::uint64_t allocations[2] = {0, 0};
    bool setup_seen = false;
    while (reader.next(r)) {
        walker.feed(r);
        if (r.tag == Tag::Activity && r.begin && r.key == kActivitySslSetup) {
            setup_seen = true;
        }
        if (r.tag == Tag::Alloc && r.address != 0) {
            const LiveAllocation* block = walker.live(r.seq);
            ASSERT_NE(block, nullptr);
            EXPECT_EQ(block->connection, setup_seen ? kFirstConnection : kSharedConnection);
            ++allocations[block->connection];
        }
        if (r.tag == Tag::Alloc || r.tag == Tag::Free) {
            ASSERT_EQ(walker.live_bytes_of(0) + walker.live_bytes_of(1), walker.live_bytes());
        }
    }
    EXPECT_TRUE(reader.complete());
    EXPECT_FALSE(walker.connection_records());
    EXPECT_EQ(walker.connection_count(), 2u);
    EXPECT_GT(allocations[0], 0u); // the CA chain, the DRBG, PSA
    EXPECT_GT(allocations[1], 0u); // the connection
    EXPECT_EQ(walker.live_bytes_of(0), 0u);
    EXPECT_EQ(walker.live_bytes_of(1), 0u);
}

// The n-byte varint's smallest value (n = 1..10).
std::uint64_t of_width(unsigned n) {
    return n == 1 ? 1 : std::uint64_t{1} << (7 * (n - 1));
}

// Event fields of every varint width, 1 to 10 bytes, in every position of
// Alloc and Free records (the reader's fast path reads records of short
// payload): each reads back as written.
TEST(TraceReader, EventFieldsOfEveryWidthReadBack) {
    struct Event {
        Tag tag;
        std::uint64_t time_ns, count, size, address, alloc_seq;
        std::uint32_t stack;
    };
    std::vector<unsigned char> bytes = encode_header();
    std::vector<Event> written;
    std::uint64_t time_ns = 0;
    std::uint64_t address = 0;
    for (unsigned i = 0; i < 60; ++i) {
        auto width = [&](unsigned field) { return (i + 3 * field) % 10 + 1; };
        const std::uint64_t delta = of_width(width(0));
        // An address step whose code (zigzag + 1) has the width asked for.
        const std::uint64_t code = of_width(width(1));
        const std::int64_t step = zigzag_decode(code - 1);
        const auto stack =
            static_cast<std::uint32_t>(std::min<std::uint64_t>(of_width(width(2)), 0xffffffffu));
        time_ns += delta;
        address += static_cast<std::uint64_t>(step);
        RecordEncoder e;
        if (i % 2 == 0) {
            const std::uint64_t count = of_width(width(3));
            const std::uint64_t size = of_width(width(4));
            e.varint(delta).varint(count).varint(size).varint(code).varint(stack);
            e.emit(Tag::Alloc, bytes);
            written.push_back({Tag::Alloc, time_ns, count, size, address, 0, stack});
        } else {
            // Names the allocation just before it, or (every fourth) none.
            const std::uint64_t back = i % 4 == 1 ? 1 : 0;
            e.varint(delta).varint(code).varint(back).varint(stack);
            e.emit(Tag::Free, bytes);
            written.push_back({Tag::Free, time_ns, 0, 0, address, back == 0 ? 0 : i, stack});
        }
    }
    encode_end(bytes, written.size());
    auto reader = TraceReader::from_bytes(bytes);
    Record r;
    std::size_t n = 0;
    while (reader->next(r)) {
        if (r.tag == Tag::End) {
            continue;
        }
        ASSERT_LT(n, written.size());
        const Event& w = written[n];
        EXPECT_EQ(r.tag, w.tag) << "event " << n;
        EXPECT_EQ(r.seq, n + 1) << "event " << n;
        EXPECT_EQ(r.time_ns, w.time_ns) << "event " << n;
        EXPECT_EQ(r.address, w.address) << "event " << n;
        EXPECT_EQ(r.stack, w.stack) << "event " << n;
        if (w.tag == Tag::Alloc) {
            EXPECT_EQ(r.count, w.count) << "event " << n;
            EXPECT_EQ(r.size, w.size) << "event " << n;
        } else {
            EXPECT_EQ(r.alloc_seq, w.alloc_seq) << "event " << n;
        }
        ++n;
    }
    EXPECT_EQ(n, written.size());
    EXPECT_TRUE(reader->complete());
}

// An event whose fields are all short is still checked: a stack id past 32
// bits, a field too many, a free naming an allocation before the first.
TEST(TraceReader, ShortEventFieldsAreCheckedLikeLongOnes) {
    auto trace_with = [](RecordEncoder e, Tag tag) {
        std::vector<unsigned char> bytes = encode_header();
        e.emit(tag, bytes);
        // Room after it, so that the record is not among the buffer's last.
        for (int i = 0; i < 4; ++i) {
            RecordEncoder().varint(1).varint(1).varint(8).varint(0).varint(1).emit(Tag::Alloc,
                                                                                   bytes);
        }
        encode_end(bytes, 5);
        return bytes;
    };
    auto error_of = [](const std::vector<unsigned char>& bytes) -> std::string {
        auto reader = TraceReader::from_bytes(bytes);
        Record r;
        try {
            while (reader->next(r)) {
            }
        } catch (const TraceError& e) {
            return e.what();
        }
        return "";
    };
    RecordEncoder wide_stack;
    wide_stack.varint(1).varint(1).varint(8).varint(0).varint(std::uint64_t{1} << 32);
    EXPECT_NE(error_of(trace_with(wide_stack, Tag::Alloc)).find("stack id 4294967296"),
              std::string::npos);
    RecordEncoder trailing;
    trailing.varint(1).varint(0).varint(0).varint(1).varint(7);
    EXPECT_NE(error_of(trace_with(trailing, Tag::Free)).find("malformed Free record"),
              std::string::npos);
    RecordEncoder before_first;
    before_first.varint(1).varint(0).varint(1).varint(1);
    EXPECT_NE(error_of(trace_with(before_first, Tag::Free))
                  .find("free names an allocation before the first event"),
              std::string::npos);
}

TEST(Varint, RoundTripsEdgeValues) {
    for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 16383ull, 16384ull, ~0ull, 1ull << 63}) {
        unsigned char buf[kMaxVarintBytes];
        const std::size_t n = varint_encode(v, buf);
        std::uint64_t out = 0;
        EXPECT_EQ(varint_decode(buf, buf + n, out), n);
        EXPECT_EQ(out, v);
        EXPECT_EQ(varint_decode(buf, buf + n - 1, out), 0u) << "short input must fail";
    }
    for (std::int64_t v :
         {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1}, INT64_MIN, INT64_MAX}) {
        EXPECT_EQ(zigzag_decode(zigzag_encode(v)), v);
    }
}

} // namespace
} // namespace tlsheap::trace
