// TraceInfo on hand-built traces: what a trace says about itself (metadata,
// config, state names, modules, stacks and frames) and the call site and
// stack description the reports print.
#include "tlsheap/trace_info.h"
#include "trace_builder.h"

#include <gtest/gtest.h>

namespace tlsheap::trace {
namespace {

using tlsheap::testing::TraceBuilder;

void module_record(std::vector<unsigned char>& bytes, std::uint64_t id, std::uint64_t start,
                   std::uint64_t end, std::uint64_t bias, const std::string& path) {
    RecordEncoder()
        .varint(id)
        .varint(start)
        .varint(end)
        .varint(bias)
        .string(path)
        .string("abcd")
        .emit(Tag::Module, bytes);
}

void stack_record(std::vector<unsigned char>& bytes, std::uint32_t id,
                  const std::vector<std::uint64_t>& frames) {
    RecordEncoder e;
    e.varint(id).varint(frames.size());
    std::uint64_t previous = 0;
    for (const std::uint64_t f : frames) {
        e.svarint(static_cast<std::int64_t>(f - previous));
        previous = f;
    }
    e.emit(Tag::Stack, bytes);
}

struct Level {
    std::string function;
    std::string file;
    std::uint32_t line;
    bool in_mbedtls;
};

void frame_record(std::vector<unsigned char>& bytes, std::uint64_t address,
                  const std::vector<Level>& levels) {
    RecordEncoder e;
    e.varint(address).varint(levels.size());
    for (const Level& l : levels) {
        e.string(l.function)
            .string(l.file)
            .varint(l.line)
            .varint(l.in_mbedtls ? kFrameInMbedtls : 0);
    }
    e.emit(Tag::Frame, bytes);
}

// Feeds every record of `bytes` to `info`; returns absorb's answer per tag
// (the last one seen for each tag).
std::map<Tag, bool> absorb_all(TraceInfo& info, std::vector<unsigned char> bytes) {
    auto reader = TraceReader::from_bytes(std::move(bytes));
    std::map<Tag, bool> answers;
    Record r;
    while (reader->next(r)) {
        answers[r.tag] = info.absorb(r);
    }
    return answers;
}

TEST(TraceInfo, MetadataConfigAndStateNames) {
    TraceBuilder b;
    b.meta("pointer_size", "4")
        .meta("mbedtls_version", "3.6.2")
        .meta("ssl.in_content_len", "16384");
    b.config("MBEDTLS_SSL_IN_CONTENT_LEN", "16384")
        .config("MBEDTLS_SSL_PROTO_TLS1_2")
        .config("MBEDTLS_SSL_IN_CONTENT_LEN", "4096"); // a later duplicate: the first wins
    b.state_name(2, "SERVER_HELLO").state_name(3, "SERVER_CERTIFICATE");
    TraceInfo info;
    absorb_all(info, b.finish());

    EXPECT_EQ(info.meta("mbedtls_version"), "3.6.2");
    EXPECT_EQ(info.meta("no_such_key"), "");
    EXPECT_EQ(info.meta_map().size(), 3u);
    EXPECT_EQ(meta_number(info.meta("ssl.in_content_len")), 16384u);
    EXPECT_EQ(meta_number(info.meta("mbedtls_version")), 0u); // not a number
    EXPECT_EQ(meta_number(""), 0u);

    ASSERT_EQ(info.config().size(), 3u); // in trace order, duplicates kept
    EXPECT_EQ(info.config()[1].first, "MBEDTLS_SSL_PROTO_TLS1_2");
    EXPECT_EQ(info.config_value("MBEDTLS_SSL_IN_CONTENT_LEN"), std::optional<std::string>("16384"));
    EXPECT_EQ(info.config_value("MBEDTLS_SSL_PROTO_TLS1_2"), std::optional<std::string>(""));
    EXPECT_EQ(info.config_value("MBEDTLS_SSL_CID"), std::nullopt);

    EXPECT_EQ(info.state_name(3), "SERVER_CERTIFICATE");
    EXPECT_EQ(info.state_name(7), "STATE_7");
    EXPECT_EQ(info.state_names().size(), 2u);
}

TEST(TraceInfo, PointerSizeIsFourOnlyWhenTheTraceSaysSo) {
    const auto pointer_size = [](const std::string& value) {
        TraceBuilder b;
        if (!value.empty()) {
            b.meta("pointer_size", value);
        }
        TraceInfo info;
        absorb_all(info, b.finish());
        return info.pointer_size();
    };
    EXPECT_EQ(pointer_size("4"), 4u);
    EXPECT_EQ(pointer_size("8"), 8u);
    EXPECT_EQ(pointer_size(""), 8u); // older recorders: the host's
    EXPECT_EQ(pointer_size("2"), 8u);
}

TEST(TraceInfo, AbsorbTakesDescriptionsAndLeavesEventsAndContext) {
    TraceBuilder b(1);
    b.meta("k", "v").config("MBEDTLS_X").state_name(1, "HELLO_REQUEST");
    b.stack(1, 0x4000).frame(0x4000, {"ssl_setup"});
    b.phase(Phase::Handshake).step(1);
    b.alloc(10, 0x1000);
    b.free(0x1000);
    b.step_end(2).activity(true, "parse").outcome(OutcomeKind::Handshake);
    auto bytes = b.unfinished();
    module_record(bytes, 1, 0x400000, 0x500000, 0x400000, "/usr/bin/tlsheap-recorder");
    encode_end(bytes, 2);

    TraceInfo info;
    const std::map<Tag, bool> answers = absorb_all(info, bytes);
    for (const Tag t :
         {Tag::Meta, Tag::Config, Tag::StateName, Tag::Stack, Tag::Frame, Tag::Module}) {
        ASSERT_TRUE(answers.count(t)) << static_cast<int>(t);
        EXPECT_TRUE(answers.at(t)) << static_cast<int>(t);
    }
    for (const Tag t : {Tag::Phase, Tag::StepBegin, Tag::StepEnd, Tag::Alloc, Tag::Free,
                        Tag::Activity, Tag::Outcome, Tag::End}) {
        ASSERT_TRUE(answers.count(t)) << static_cast<int>(t);
        EXPECT_FALSE(answers.at(t)) << static_cast<int>(t);
    }
    ASSERT_EQ(info.modules().size(), 1u);
    EXPECT_EQ(info.modules()[0].id, 1u);
    EXPECT_EQ(info.modules()[0].start, 0x400000u);
    EXPECT_EQ(info.modules()[0].end, 0x500000u);
    EXPECT_EQ(info.modules()[0].path, "/usr/bin/tlsheap-recorder");
    EXPECT_EQ(info.modules()[0].build_id, "abcd");
    EXPECT_EQ(info.stack_count(), 1u);
    EXPECT_TRUE(info.symbolized());
}

// Stack 1: the recorder's shim (not mbedTLS), the platform layer's
// mbedtls_calloc, then the function that asked. Stack 2: the platform layer
// inlined into its caller (one frame, two levels). Stack 3: unsymbolized.
std::vector<unsigned char> call_site_trace() {
    std::vector<unsigned char> bytes = TraceBuilder().meta("pointer_size", "8").unfinished();
    module_record(bytes, 1, 0x550000, 0x560000, 0x550000, "/cache/rec-1/tlsheap-recorder");
    stack_record(bytes, 1, {0x1100, 0x2200, 0x3300});
    stack_record(bytes, 2, {0x4400});
    stack_record(bytes, 3, {0x551234, 0x999999});
    frame_record(bytes, 0x1100, {{"tlsheap_calloc", "src/recorder/shim.cpp", 12, false}});
    frame_record(bytes, 0x2200, {{"mbedtls_calloc", "library/platform.c", 80, true}});
    frame_record(bytes, 0x3300, {{"x509_crt_parse_der_core", "library/x509_crt.c", 1234, true}});
    frame_record(bytes, 0x4400,
                 {{"mbedtls_calloc", "library/platform.c", 80, true},
                  {"mbedtls_ssl_setup", "library/ssl_tls.c", 1400, true}});
    encode_end(bytes, 0);
    return bytes;
}

TEST(TraceInfo, CallSiteSkipsTheShimAndThePlatformLayer) {
    TraceInfo info;
    absorb_all(info, call_site_trace());
    const CallSite site = info.call_site(1);
    EXPECT_EQ(site.function, "x509_crt_parse_der_core");
    EXPECT_EQ(site.file, "library/x509_crt.c");
    EXPECT_EQ(site.line, 1234u);
    EXPECT_EQ(site.label(), "x509_crt_parse_der_core (library/x509_crt.c:1234)");

    EXPECT_EQ(info.call_site(2).label(), "mbedtls_ssl_setup (library/ssl_tls.c:1400)");
    // Unsymbolized: the innermost raw address keeps groups apart.
    EXPECT_EQ(info.call_site(3).function, "0x551234");
    EXPECT_EQ(info.call_site(3).label(), "0x551234");
    // A stack the trace never described.
    EXPECT_EQ(info.call_site(42).function, "");
    EXPECT_EQ(info.call_site(42).label(), "(unknown call site)");
}

TEST(TraceInfo, FramesArrivingLaterReplaceCachedCallSites) {
    std::vector<unsigned char> bytes = TraceBuilder().unfinished();
    stack_record(bytes, 1, {0x3300});
    encode_end(bytes, 0);
    TraceInfo info;
    absorb_all(info, bytes);
    EXPECT_EQ(info.call_site(1).function, "0x3300"); // cached
    EXPECT_FALSE(info.symbolized());

    std::vector<unsigned char> frames = TraceBuilder().unfinished();
    frame_record(frames, 0x3300, {{"ecp_mul_comb", "library/ecp.c", 2300, true}});
    encode_end(frames, 0);
    absorb_all(info, frames);
    EXPECT_EQ(info.call_site(1).function, "ecp_mul_comb");
}

TEST(TraceInfo, DescribeStackNamesEveryLevelAndUnsymbolizedFramesByModule) {
    std::vector<unsigned char> bytes = call_site_trace();
    TraceInfo info;
    absorb_all(info, bytes);
    EXPECT_EQ(info.describe_stack(1),
              (std::vector<std::string>{"tlsheap_calloc (src/recorder/shim.cpp:12)",
                                        "mbedtls_calloc (library/platform.c:80)",
                                        "x509_crt_parse_der_core (library/x509_crt.c:1234)"}));
    EXPECT_EQ(info.describe_stack(2),
              (std::vector<std::string>{"mbedtls_calloc (library/platform.c:80)",
                                        "mbedtls_ssl_setup (library/ssl_tls.c:1400)"}));
    // Inside the module: its file name and the offset from the load bias, which
    // does not move between runs; outside any module: the raw address.
    EXPECT_EQ(info.describe_stack(3),
              (std::vector<std::string>{"tlsheap-recorder+0x1234", "0x999999"}));
    EXPECT_TRUE(info.describe_stack(42).empty());

    std::vector<unsigned char> nameless = TraceBuilder().unfinished();
    stack_record(nameless, 5, {0x7700});
    frame_record(nameless, 0x7700, {{"", "", 0, false}});
    encode_end(nameless, 0);
    TraceInfo second;
    absorb_all(second, nameless);
    EXPECT_EQ(second.describe_stack(5), std::vector<std::string>{"??"});
}

TEST(TraceInfo, StackAndFrameLookups) {
    TraceInfo info;
    absorb_all(info, call_site_trace());
    ASSERT_NE(info.stack(1), nullptr);
    EXPECT_EQ(*info.stack(1), (std::vector<std::uint64_t>{0x1100, 0x2200, 0x3300}));
    EXPECT_EQ(info.stack(9), nullptr);
    ASSERT_NE(info.frame(0x4400), nullptr);
    EXPECT_EQ(info.frame(0x4400)->size(), 2u);
    EXPECT_TRUE(info.frame(0x4400)->at(1).in_mbedtls);
    EXPECT_FALSE(info.frame(0x1100)->at(0).in_mbedtls);
    EXPECT_EQ(info.frame(0x999999), nullptr);
}

} // namespace
} // namespace tlsheap::trace
