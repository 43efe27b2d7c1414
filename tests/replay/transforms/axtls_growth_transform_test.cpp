// axtls-growth on hand-made client recordings, with the sizes worked out by
// hand from igrr/axtls-8266 ssl/tls1.c (RT_EXTRA = 1024, BM_RECORD_OFFSET = 5,
// RT_MAX_PLAIN_LENGTH = 16384, ssl_new's max_plain_length = 5840).
#include "allocation_stream_validator.h"
#include "axtls_growth_transform.h"
#include "tlsheap/trace_meta.h"
#include "transform_test_support.h"

#include <algorithm>
#include <gtest/gtest.h>

namespace tlsheap::replay {
namespace {

using testing::added_events;
using testing::ClientTraceOptions;
using testing::OwnedTraceSource;

std::vector<trace::Record> axtls_records(const ClientTraceOptions& o,
                                         const std::string& spec = "axtls-growth") {
    auto source = make_transform(ModelSpec::parse(spec),
                                 OwnedTraceSource::from_bytes(testing::client_trace(o)));
    return testing::drain(*source);
}

std::vector<std::string> axtls_log(const ClientTraceOptions& o,
                                   const std::string& spec = "axtls-growth") {
    std::vector<std::string> log = added_events(axtls_records(o, spec), "axtls-growth");
    // Only what was added or released, not the step markers.
    log.erase(std::remove_if(log.begin(), log.end(),
                             [](const std::string& l) { return l.back() == ':'; }),
              log.end());
    return log;
}

std::string validate(const std::vector<trace::Record>& records) {
    testing::VectorSource source(records);
    return validate_allocation_stream(source);
}

TEST(AxtlsGrowthTransform, GrownPlainLength) {
    // An 8000-byte record: size = 8000 + 5 - 1024 = 6981, rounded up to 1024:
    // 7168; the buffer becomes 7168 + 1024 = 8192 bytes. (The brief's
    // "8192 + 1024" rounds the record length itself; tls1.c's
    // increase_bm_data_size rounds need_bytes + BM_RECORD_OFFSET - RT_EXTRA.)
    EXPECT_EQ(AxtlsGrowthTransform::grown_plain_length(8000), 7168u);
    // 15000 + 5 - 1024 = 13981 -> 14336; 16408 + 5 - 1024 = 15389 -> 16384, the
    // cap; larger is capped too.
    EXPECT_EQ(AxtlsGrowthTransform::grown_plain_length(15000), 14336u);
    EXPECT_EQ(AxtlsGrowthTransform::grown_plain_length(16408), 16384u);
    EXPECT_EQ(AxtlsGrowthTransform::grown_plain_length(18000), 16384u);
}

TEST(AxtlsGrowthTransform, OneBufferGrowsForAnEightThousandByteRecord) {
    // The two 16717-byte static buffers become one of 5840 + 1024 = 6864.
    // The handshake's records all fit (the largest, 546, is far below
    // 5840 + 1024 - 5 = 6859); the 8000-byte application record does not:
    // realloc to 8192 (allocate new, free old). Before it, the received
    // certificate (300 bytes, kept after the handshake) is freed.
    ClientTraceOptions o;
    o.app_record = 8000;
    const std::vector<trace::Record> records = axtls_records(o);
    EXPECT_EQ(validate(records), "");
    EXPECT_EQ(added_events(records, "axtls-growth").front(), "+6864 record buffer");
    std::vector<std::string> log = axtls_log(o);
    EXPECT_EQ(log, (std::vector<std::string>{
                       "+6864 record buffer", "-300 free received certificates (certificate_free)",
                       "+8192 record buffer", "-6864 record buffer",
                       "-8192 record buffer", // ssl_free
                   }));
    for (const trace::Record& r : records) {
        if (r.tag == trace::Tag::Alloc) {
            EXPECT_NE(r.size, 16717u) << "a static record buffer was allocated";
        }
    }
}

TEST(AxtlsGrowthTransform, NoGrowthNoPurge) {
    // With a 4000-byte record nothing grows and the certificate stays until
    // ssl_free; 16408 bytes grow the buffer to the largest, 16384 + 1024 = 17408.
    ClientTraceOptions o;
    o.app_record = 4000;
    EXPECT_EQ(axtls_log(o),
              (std::vector<std::string>{"+6864 record buffer", "-6864 record buffer"}));
    o.app_record = 16408;
    EXPECT_EQ(axtls_log(o),
              (std::vector<std::string>{
                  "+6864 record buffer", "-300 free received certificates (certificate_free)",
                  "+17408 record buffer", "-6864 record buffer", "-17408 record buffer"}));
}

TEST(AxtlsGrowthTransform, PurgeCertsOffKeepsTheChain) {
    ClientTraceOptions o;
    o.app_record = 8000;
    EXPECT_EQ(axtls_log(o, "axtls-growth:purge_certs=off"),
              (std::vector<std::string>{"+6864 record buffer", "+8192 record buffer",
                                        "-6864 record buffer", "-8192 record buffer"}));
}

TEST(AxtlsGrowthTransform, GrowthDuringTheHandshakeKeepsTheCertificates) {
    // initial=512: 512 + 1024 = 1536 bytes, growth above 512 + 1019 = 1531.
    // The ServerHello (91) and Certificate (546) fit; the 8000-byte
    // application record grows it (to 8192) after the handshake, purging the
    // certificate first.
    ClientTraceOptions o;
    o.app_record = 8000;
    EXPECT_EQ(axtls_log(o, "axtls-growth:initial=512"),
              (std::vector<std::string>{
                  "+1536 record buffer", "-300 free received certificates (certificate_free)",
                  "+8192 record buffer", "-1536 record buffer", "-8192 record buffer"}));
    // A 2000-byte record during the handshake would grow it without purging:
    // size 2000 + 5 - 1024 = 981 -> 1024, buffer 2048.
    EXPECT_EQ(AxtlsGrowthTransform::grown_plain_length(2000) + AxtlsGrowthTransform::kExtra, 2048u);
}

TEST(AxtlsGrowthTransform, SeparateBuffersPerDirection) {
    // shared=off: 6864 for each direction, in the places of in_buf and
    // out_buf; only the incoming one grows.
    ClientTraceOptions o;
    o.app_record = 8000;
    const std::vector<trace::Record> records = axtls_records(o, "axtls-growth:shared=off");
    EXPECT_EQ(validate(records), "");
    std::vector<std::string> log = axtls_log(o, "axtls-growth:shared=off");
    EXPECT_EQ(log,
              (std::vector<std::string>{"+6864 record buffer (in)", "+6864 record buffer (out)",
                                        "-300 free received certificates (certificate_free)",
                                        "+8192 record buffer (in)", "-6864 record buffer (in)",
                                        "-8192 record buffer (in)", "-6864 record buffer (out)"}));
}

TEST(AxtlsGrowthTransform, MaxFragmentLengthCapsWithoutReallocating) {
    // A 2048-byte max fragment length caps max_plain_length at 2048: a
    // 4000-byte record (> 2048 + 1019) grows the buffer to
    // roundup(4000 + 5 - 1024 = 2981, 1024) = 3072 + 1024 = 4096.
    testing::TransformTraceBuilder b;
    ClientTraceOptions o;
    o.app_record = 4000;
    testing::prelude(b, o);
    b.phase(trace::Phase::Setup);
    b.activity(true, "ssl_config");
    b.meta(trace::meta::kSslMaxFragmentLengthRequested, "2048");
    b.activity(false, "ssl_config");
    b.activity(true, "ssl_setup");
    const std::uint64_t in = b.alloc(16717, testing::kInBuf);
    const std::uint64_t out = b.alloc(16717, testing::kOutBuf);
    b.role(in, trace::Role::InBuffer).role(out, trace::Role::OutBuffer);
    b.activity(false, "ssl_setup");
    b.phase(trace::Phase::Handshake);
    b.step(testing::SERVER_HELLO).handshake(trace::Direction::In, 91, {2});
    b.step_end(testing::SERVER_CERTIFICATE);
    b.phase(trace::Phase::Application);
    b.record(trace::Direction::In, 23, 4000);
    b.phase(trace::Phase::Teardown);
    b.free(testing::kOutBuf).free(testing::kInBuf);
    auto source =
        make_transform(ModelSpec::parse("axtls-growth"), OwnedTraceSource::from_bytes(b.finish()));
    const std::vector<trace::Record> records = testing::drain(*source);
    EXPECT_EQ(validate(records), "");
    std::vector<std::string> log = added_events(records, "axtls-growth");
    log.erase(std::remove_if(log.begin(), log.end(),
                             [](const std::string& l) { return l.back() == ':'; }),
              log.end());
    EXPECT_EQ(log, (std::vector<std::string>{"+6864 record buffer", "+4096 record buffer",
                                             "-6864 record buffer", "-4096 record buffer"}));
}

TEST(AxtlsGrowthTransform, AReplacedRecordBufferLeavesWhenItIsNamed) {
    // Without lookahead the new in_buf goes out as recorded and is released
    // at its Role record; the axTLS buffer stays until mbedtls_ssl_free.
    auto source = make_transform(ModelSpec::parse("axtls-growth"),
                                 OwnedTraceSource::from_bytes(testing::resized_buffer_trace()));
    const std::vector<trace::Record> records = testing::drain(*source);
    EXPECT_EQ(validate(records), "");
    std::vector<std::string> log = added_events(records, "axtls-growth");
    EXPECT_EQ(log, (std::vector<std::string>{"+6864 record buffer", "SERVER_HELLO:",
                                             "HANDSHAKE_WRAPUP:", "-6864 record buffer"}));
}

TEST(AxtlsGrowthTransform, RefusesDtlsAndTracesWithoutRolesOrRecords) {
    const auto message = [](const ClientTraceOptions& o) -> std::string {
        try {
            axtls_records(o);
        } catch (const TransformError& e) {
            return e.what();
        }
        return "";
    };
    ClientTraceOptions dtls;
    dtls.transport = "datagram";
    EXPECT_EQ(message(dtls), "transform axtls-growth does not apply: it is a DTLS recording "
                             "(meta transport=datagram), and axTLS has no DTLS (the scheme "
                             "models TLS over TCP)");
    ClientTraceOptions dtls_records;
    dtls_records.dtls_records = true;
    EXPECT_EQ(message(dtls_records),
              "transform axtls-growth does not apply: it is a DTLS recording (its TLS records "
              "came in UDP datagrams), and axTLS has no DTLS (the scheme models TLS over TCP)");
    ClientTraceOptions no_roles;
    no_roles.roles = false;
    EXPECT_NE(message(no_roles).find("has no Role records"), std::string::npos);
    ClientTraceOptions no_records;
    no_records.tls_records = false;
    EXPECT_NE(message(no_records).find("has no TlsRecord records"), std::string::npos);
}

} // namespace
} // namespace tlsheap::replay
