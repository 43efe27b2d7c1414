// The recorder's writer and the host's reader agree on the format.
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"
#include "trace_writer.h"

#include <cstdio>
#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

namespace tlsheap::recorder {
namespace {

std::string temp_path(const char* name) {
    return (std::filesystem::temp_directory_path() /
            (std::string(name) + "-" + std::to_string(::getpid()) + ".trace"))
        .string();
}

TEST(TraceWriter, RoundTripsEveryRecordKind) {
    const std::string path = temp_path("roundtrip");
    {
        TraceWriter w;
        ASSERT_TRUE(w.open(path.c_str()));
        PayloadBuilder meta;
        meta.string(trace::meta::kMbedtlsVersion);
        meta.string("3.6.6");
        w.record(trace::Tag::Meta, meta);
        PayloadBuilder phase;
        phase.varint(static_cast<unsigned>(trace::Phase::Handshake));
        w.record(trace::Tag::Phase, phase);
        PayloadBuilder alloc;
        alloc.varint(1500);                             // dt
        alloc.varint(1);                                // count
        alloc.varint(333);                              // size
        alloc.varint(trace::zigzag_encode(0x5000) + 1); // address delta from 0
        alloc.varint(0);                                // stack
        w.record(trace::Tag::Alloc, alloc);
        PayloadBuilder free;
        free.varint(10);
        free.varint(trace::zigzag_encode(0) + 1); // same address
        free.varint(1);                           // one event back
        free.varint(0);
        w.record(trace::Tag::Free, free);
        w.finish(2);
        EXPECT_FALSE(w.failed());
    }
    trace::TraceReader reader(path);
    trace::Record r;
    ASSERT_TRUE(reader.next(r));
    EXPECT_EQ(r.tag, trace::Tag::Meta);
    EXPECT_EQ(r.value, "3.6.6");
    ASSERT_TRUE(reader.next(r));
    EXPECT_EQ(r.phase, trace::Phase::Handshake);
    ASSERT_TRUE(reader.next(r));
    EXPECT_EQ(r.tag, trace::Tag::Alloc);
    EXPECT_EQ(r.seq, 1u);
    EXPECT_EQ(r.size, 333u);
    EXPECT_EQ(r.address, 0x5000u);
    EXPECT_EQ(r.time_ns, 1500u);
    ASSERT_TRUE(reader.next(r));
    EXPECT_EQ(r.tag, trace::Tag::Free);
    EXPECT_EQ(r.seq, 2u);
    EXPECT_EQ(r.alloc_seq, 1u);
    EXPECT_EQ(r.address, 0x5000u);
    EXPECT_EQ(r.time_ns, 1510u);
    ASSERT_TRUE(reader.next(r));
    EXPECT_EQ(r.tag, trace::Tag::End);
    EXPECT_FALSE(reader.next(r));
    EXPECT_TRUE(reader.complete());
    EXPECT_FALSE(reader.truncated());
    std::remove(path.c_str());
}

TEST(TraceWriter, OversizedPayloadIsDroppedWholeAndFlagged) {
    const std::string path = temp_path("oversized");
    TraceWriter w;
    ASSERT_TRUE(w.open(path.c_str()));
    PayloadBuilder p;
    p.string(std::string(5000, 'x')); // larger than a builder holds
    EXPECT_TRUE(p.overflowed());
    w.record(trace::Tag::Meta, p);
    w.finish(0);
    EXPECT_TRUE(w.failed());
    trace::TraceReader reader(path);
    trace::Record r;
    ASSERT_TRUE(reader.next(r));
    EXPECT_EQ(r.tag, trace::Tag::End); // nothing half-written before it
    std::remove(path.c_str());
}

// The events' records written into the buffer directly are the bytes the
// builder gives, across buffer flushes too.
TEST(TraceWriter, SmallRecordsAreTheBuildersBytes) {
    const std::string built = temp_path("small-built");
    const std::string direct = temp_path("small-direct");
    constexpr unsigned kRecords = 30000; // more than two 256 KiB buffers
    for (const std::string* path : {&built, &direct}) {
        TraceWriter w;
        ASSERT_TRUE(w.open(path->c_str()));
        for (unsigned i = 0; i < kRecords; ++i) {
            const std::uint64_t values[] = {i * 977ull, 1, i % 3000, UINT64_MAX - i, i};
            if (path == &built) {
                PayloadBuilder p;
                for (const std::uint64_t v : values) {
                    p.varint(v);
                }
                w.record(trace::Tag::Alloc, p);
            } else {
                unsigned char* const payload = w.begin_small_record();
                ASSERT_NE(payload, nullptr);
                unsigned char* at = payload;
                for (const std::uint64_t v : values) {
                    at += trace::varint_encode(v, at);
                }
                w.end_small_record(trace::Tag::Alloc, static_cast<std::size_t>(at - payload));
            }
        }
        w.finish(kRecords);
        EXPECT_FALSE(w.failed());
        EXPECT_EQ(w.begin_small_record(), nullptr); // closed
    }
    std::FILE* a = std::fopen(built.c_str(), "rb");
    std::FILE* b = std::fopen(direct.c_str(), "rb");
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    std::size_t bytes = 0;
    for (int ca = std::fgetc(a), cb = std::fgetc(b); ca != EOF || cb != EOF;
         ca = std::fgetc(a), cb = std::fgetc(b), ++bytes) {
        ASSERT_EQ(ca, cb) << "at byte " << bytes;
    }
    EXPECT_GT(bytes, 2u * 256 * 1024);
    std::fclose(a);
    std::fclose(b);
    std::remove(built.c_str());
    std::remove(direct.c_str());
}

} // namespace
} // namespace tlsheap::recorder
