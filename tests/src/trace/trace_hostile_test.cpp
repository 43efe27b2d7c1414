// Traces from elsewhere are untrusted: every id and count the reader passes
// on is one the tools can size their tables by, every numeric metadata value
// is a number, and damage is an error naming the record and its byte offset,
// never "truncated" and never read past.
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"
#include "trace_builder.h"

#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <limits>
#include <tuple>

namespace tlsheap::trace {
namespace {

using testing::TraceBuilder;

// Reads every record; returns the TraceError's message, "" if none.
std::string read_all(const std::vector<unsigned char>& bytes) {
    try {
        auto reader = TraceReader::from_bytes(bytes, "t.trace");
        Record r;
        while (reader->next(r)) {
        }
        return {};
    } catch (const TraceError& e) {
        return e.what();
    }
}

void expect_corrupt(const std::vector<unsigned char>& bytes, const std::string& what) {
    const std::string error = read_all(bytes);
    EXPECT_NE(error.find("t.trace is corrupt at byte "), std::string::npos) << error;
    EXPECT_NE(error.find(what), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST(HostileTrace, StackHighWaterBeyondAnyStackOrAboveItsBaseIsCorruption) {
    for (const auto& [deepest, base] :
         {std::pair<std::uint64_t, std::uint64_t>{kMaxStackBytes + 1, 0},
          std::pair<std::uint64_t, std::uint64_t>{100, 101},
          std::pair<std::uint64_t, std::uint64_t>{~std::uint64_t{0}, 5}}) {
        auto bytes = encode_header();
        RecordEncoder().varint(deepest).varint(base).emit(Tag::StackHighWater, bytes);
        encode_end(bytes, 0);
        expect_corrupt(bytes, "StackHighWater");
    }
    TraceBuilder fine;
    fine.stack_high_water(kMaxStackBytes, kMaxStackBytes);
    EXPECT_EQ(read_all(fine.finish()), "");
}

// A DTLS record's epoch is a uint16 and its sequence number 48 bits (1.5).
TEST(HostileTrace, DtlsEpochAndSequenceBeyondTheirFieldsAreCorruption) {
    const std::uint64_t most = (std::uint64_t{1} << 48) - 1;
    for (const auto& [epoch, sequence, what] :
         {std::tuple<std::uint64_t, std::uint64_t, const char*>{
              0, most + 1, "TlsRecord record: sequence number 281474976710656 is out of range"},
          {0, ~std::uint64_t{0}, "sequence number 18446744073709551615 is out of range"},
          {65536, 0, "TlsRecord record: epoch 65536 is out of range"}}) {
        TraceBuilder b;
        b.datagram_record(Direction::In, 23, 10, epoch, sequence);
        expect_corrupt(b.finish(), what);
    }
    // The two fields missing: malformed, not read past.
    auto bytes = encode_header();
    RecordEncoder()
        .varint(0)
        .varint(22)
        .varint(0xfefd)
        .varint(10)
        .varint(kRecordDatagram)
        .varint(0)
        .emit(Tag::TlsRecord, bytes);
    encode_end(bytes, 0);
    expect_corrupt(bytes, "malformed TlsRecord record");
    TraceBuilder fine;
    fine.datagram_record(Direction::Out, 22, 10, 65535, most);
    EXPECT_EQ(read_all(fine.finish()), "");
}

TEST(HostileTrace, StateIdsBeyondAnyHandshakeStateAreCorruption) {
    for (const std::uint64_t state : {std::uint64_t{0xffffffff}, std::uint64_t{10'000'000},
                                      std::uint64_t{0x7fffffff}, std::uint64_t{0x100000003}}) {
        TraceBuilder step;
        step.phase(Phase::Handshake);
        auto bytes = step.unfinished();
        RecordEncoder().varint(state).emit(Tag::StepBegin, bytes);
        encode_end(bytes, 0);
        expect_corrupt(bytes, "StepBegin record: state id " + std::to_string(state));

        bytes = encode_header();
        RecordEncoder().varint(state).svarint(0).emit(Tag::StepEnd, bytes);
        encode_end(bytes, 0);
        expect_corrupt(bytes, "StepEnd record: state id " + std::to_string(state));

        bytes = encode_header();
        RecordEncoder().varint(state).string("X").emit(Tag::StateName, bytes);
        encode_end(bytes, 0);
        expect_corrupt(bytes, "StateName record: state id " + std::to_string(state));

        bytes = encode_header();
        RecordEncoder().varint(4).svarint(-1).varint(state).string("x").emit(Tag::Outcome, bytes);
        encode_end(bytes, 0);
        expect_corrupt(bytes, "Outcome record: state id " + std::to_string(state));
    }
}

TEST(HostileTrace, ConnectionIdsComeInOrder) {
    TraceBuilder ok;
    ok.connection(0).connection(1).connection(2).connection(1).connection(3);
    EXPECT_EQ(read_all(ok.finish()), "");
    TraceBuilder skips;
    skips.connection(0).connection(1).connection(1000000);
    expect_corrupt(skips.finish(), "Connection record: connection id 1000000");
}

TEST(HostileTrace, StackIdsFitTheirType) {
    auto bytes = encode_header();
    RecordEncoder().varint(0x100000001).varint(1).svarint(0x1000).emit(Tag::Stack, bytes);
    encode_end(bytes, 0);
    expect_corrupt(bytes, "Stack record: stack id 4294967297");
    bytes = encode_header();
    RecordEncoder()
        .varint(10)
        .varint(1)
        .varint(8)
        .varint(3)
        .varint(0x100000001)
        .emit(Tag::Alloc, bytes);
    encode_end(bytes, 1);
    expect_corrupt(bytes, "Alloc record: stack id 4294967297");
}

TEST(HostileTrace, NumericMetadataMustBeANumber) {
    for (const char* key : {meta::kPoolBase, meta::kPoolSize, meta::kSslInContentLen,
                            meta::kLifecycleConnections, meta::kPointerSize}) {
        TraceBuilder b;
        b.meta(key, "abc");
        expect_corrupt(b.finish(), std::string("Meta record: ") + key + " is 'abc', not a number");
    }
    TraceBuilder unprintable;
    unprintable.meta(meta::kPoolBase, "1\n2");
    expect_corrupt(unprintable.finish(), "pool.base is '1\\x0a2'");
    TraceBuilder fine;
    fine.meta(meta::kPoolBase, "140737488355328").meta(meta::kPoolSize, "").meta("other", "abc");
    EXPECT_EQ(read_all(fine.finish()), "");
}

TEST(HostileTrace, DataAfterTheEndRecordIsCorruption) {
    TraceBuilder b;
    b.alloc(10, 0x1000);
    auto bytes = b.finish();
    const std::size_t end_of_trace = bytes.size();
    bytes.push_back(0);
    expect_corrupt(bytes,
                   "at byte " + std::to_string(end_of_trace) + ": data after the End record");
}

// A record that runs past the end of the file is a truncation only when
// what is there could begin it: a length damaged into a larger one leaves
// a complete record followed by bytes that are not its own.
TEST(HostileTrace, LengthRunningPastTheEndIsCorruptionWhenTheFieldsAreComplete) {
    TraceBuilder b;
    b.alloc(10, 0x1000);
    auto bytes = b.finish();
    // The End record: its tag, from the back (its payload has no 0x7f byte).
    std::size_t at = bytes.size();
    while (bytes[--at] != static_cast<unsigned char>(Tag::End)) {
    }
    bytes[at + 1] = static_cast<unsigned char>(bytes[at + 1] + 8);
    expect_corrupt(bytes, "at byte " + std::to_string(at));
}

// Every 97th byte of a committed sample trace, each of its 8 bits flipped:
// every flip is an error naming a byte offset. The CRC-32C in the End record
// catches a flip in any byte before it; a flip in the End record itself
// breaks its tag (unknown tag), its length (the fields end before it) or its
// fields (the count or the checksum no longer match).
TEST(HostileTrace, EveryBitFlipOfASampleTraceIsCorruption) {
    std::ifstream in(std::string(TLSHEAP_SOURCE_DIR) + "/traces/tls12-psk-aes128-ccm.trace",
                     std::ios::binary);
    const std::vector<unsigned char> original{std::istreambuf_iterator<char>(in), {}};
    ASSERT_GT(original.size(), 10000u);
    ASSERT_EQ(read_all(original), "");
    std::size_t flips = 0;
    for (std::size_t at = kHeaderSize; at < original.size(); at += 97) {
        for (unsigned bit = 0; bit < 8; ++bit) {
            auto bytes = original;
            bytes[at] ^= static_cast<unsigned char>(1u << bit);
            const std::string error = read_all(bytes);
            EXPECT_NE(error.find("corrupt at byte "), std::string::npos)
                << "flip of bit " << bit << " at byte " << at << ": "
                << (error.empty() ? "read without an error" : error);
            ++flips;
        }
    }
    // The last bytes (the End record) too.
    for (std::size_t at = original.size() - 8; at < original.size(); ++at) {
        for (unsigned bit = 0; bit < 8; ++bit) {
            auto bytes = original;
            bytes[at] ^= static_cast<unsigned char>(1u << bit);
            const std::string error = read_all(bytes);
            EXPECT_NE(error.find("corrupt at byte "), std::string::npos)
                << "flip of bit " << bit << " at byte " << at << ": "
                << (error.empty() ? "read without an error" : error);
        }
    }
    EXPECT_GT(flips, 1500u);
}

} // namespace
} // namespace tlsheap::trace
