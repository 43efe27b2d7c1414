// Reading a trace ahead on another thread hands the walk the records next()
// gives, in order, across batch boundaries; a corrupt or truncated trace ends
// the same way after the same records; a walk that stops early stops the
// thread.
#include "tlsheap/trace_read_ahead.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/trace_walker.h"
#include "trace_builder.h"

#include <gtest/gtest.h>
#include <stdexcept>
#include <string>
#include <vector>

namespace tlsheap::trace {
namespace {

using testing::TraceBuilder;

// Enough events for several batches, and a few over.
std::vector<unsigned char> long_trace_body(std::uint64_t events) {
    TraceBuilder b;
    b.meta("pointer_size", "4").phase(Phase::Setup);
    for (std::uint64_t i = 0; i < events / 2; ++i) {
        b.alloc(16 + i % 500, 0x10000 + i * 0x100);
        b.free(0x10000 + i * 0x100);
    }
    return b.unfinished();
}

// The members that belong to the record's tag (the rest are left-overs of
// earlier records, which a reader reusing one Record keeps and the batches
// do not).
std::string describe(const Record& r) {
    std::string d = std::to_string(static_cast<int>(r.tag)) + " @" + std::to_string(r.offset);
    switch (r.tag) {
    case Tag::Alloc:
        return d + " seq " + std::to_string(r.seq) + " time " + std::to_string(r.time_ns) +
               " size " + std::to_string(r.count) + "x" + std::to_string(r.size) + " at " +
               std::to_string(r.address) + " stack " + std::to_string(r.stack);
    case Tag::Free:
        return d + " seq " + std::to_string(r.seq) + " of " + std::to_string(r.alloc_seq) + " at " +
               std::to_string(r.address) + " stack " + std::to_string(r.stack);
    case Tag::Meta:
        return d + " " + r.key + "=" + r.value;
    case Tag::Phase:
        return d + " phase " + std::to_string(static_cast<int>(r.phase));
    default:
        return d;
    }
}

// What next() gives, then the message it threw ("" if none).
std::vector<std::string> read_plainly(const std::vector<unsigned char>& bytes, std::string& threw) {
    auto reader = TraceReader::from_bytes(bytes);
    std::vector<std::string> out;
    Record r;
    try {
        while (reader->next(r))
            out.push_back(describe(r));
    } catch (const TraceError& e) {
        threw = e.what();
    }
    return out;
}

std::vector<std::string> read_ahead(TraceReader& reader, std::string& threw) {
    std::vector<std::string> out;
    ReadAheadReader ahead(reader);
    try {
        for (auto batch = ahead.next_batch(); !batch.empty(); batch = ahead.next_batch())
            for (const Record& r : batch)
                out.push_back(describe(r));
        EXPECT_TRUE(ahead.next_batch().empty()); // and stays at its end
    } catch (const TraceError& e) {
        threw = e.what();
    }
    return out;
}

constexpr std::uint64_t kEvents = 3 * 4096 * 2 + 17;

TEST(ReadAheadReader, GivesEveryRecordInOrder) {
    std::vector<unsigned char> bytes = long_trace_body(kEvents);
    encode_end(bytes, kEvents - 1);
    std::string plain_threw, ahead_threw;
    const std::vector<std::string> plain = read_plainly(bytes, plain_threw);
    auto reader = TraceReader::from_bytes(bytes);
    EXPECT_EQ(read_ahead(*reader, ahead_threw), plain);
    EXPECT_GT(plain.size(), kEvents);
    EXPECT_EQ(plain_threw, "");
    EXPECT_EQ(ahead_threw, "");
    EXPECT_TRUE(reader->complete());
}

TEST(ReadAheadReader, CorruptionIsThrownAfterTheRecordsBeforeIt) {
    for (const std::uint64_t events : {std::uint64_t{0}, std::uint64_t{4095}, kEvents}) {
        std::vector<unsigned char> bytes = long_trace_body(events);
        RecordEncoder().varint(1).emit(static_cast<Tag>(0x55), bytes);
        std::string plain_threw, ahead_threw;
        const std::vector<std::string> plain = read_plainly(bytes, plain_threw);
        auto reader = TraceReader::from_bytes(bytes);
        EXPECT_EQ(read_ahead(*reader, ahead_threw), plain) << events;
        EXPECT_NE(plain_threw, "") << events;
        EXPECT_EQ(ahead_threw, plain_threw) << events;
    }
}

TEST(ReadAheadReader, TruncationEndsTheWalkAsItEndsNext) {
    std::vector<unsigned char> bytes = long_trace_body(kEvents);
    bytes.resize(bytes.size() - 3); // into the last record
    std::string plain_threw, ahead_threw;
    const std::vector<std::string> plain = read_plainly(bytes, plain_threw);
    auto reader = TraceReader::from_bytes(bytes);
    EXPECT_EQ(read_ahead(*reader, ahead_threw), plain);
    EXPECT_EQ(ahead_threw, "");
    EXPECT_TRUE(reader->truncated());
    auto plain_reader = TraceReader::from_bytes(bytes);
    Record r;
    while (plain_reader->next(r)) {
    }
    EXPECT_EQ(reader->truncation_message(), plain_reader->truncation_message());
}

// A hook that gives up part-way: its exception reaches the caller, and the
// reader's thread, blocked with batches decoded and none handed back, stops.
TEST(ReadAheadReader, AWalkThatStopsEarlyStopsTheThread) {
    struct GiveUp : WalkerHooks {
        void on_alloc(const Record& r, const LiveAllocation*, std::uint32_t) override {
            if (r.seq == 4999)
                throw std::runtime_error("enough");
        }
    };
    std::vector<unsigned char> bytes = long_trace_body(kEvents * 4);
    encode_end(bytes, kEvents * 4);
    auto reader = TraceReader::from_bytes(bytes);
    TraceWalker walker;
    GiveUp hooks;
    try {
        ReadAheadReader ahead(*reader);
        walker.walk(ahead, hooks);
        FAIL() << "the hook's exception was lost";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "enough");
    }
    EXPECT_EQ(walker.events(), 4999u);
    // Abandoned before its first batch: nothing waits for it either.
    auto untouched = TraceReader::from_bytes(bytes);
    { ReadAheadReader ahead(*untouched); }
}

} // namespace
} // namespace tlsheap::trace
