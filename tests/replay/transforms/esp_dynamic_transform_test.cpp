// esp-dynamic on hand-made client recordings, with the sizes worked out by hand.
//
// Unless a test says otherwise the config is TLS 1.2 with AES-CBC and SHA-384
// and without CID: O = 13 + 16 + 48 + 256 = 333, so
//   MBEDTLS_SSL_OUT_BUFFER_LEN (OBL) = O + 16384      = 16717
//   handshake TX buffer = 8 + tx_buffer_len(OBL) = 8 + 16717 + 333 = 17058
//   application TX buffer = 8 + tx_buffer_len(0) = 8 + 16717     = 16725
//   RX buffer for a record of n bytes = 8 + n + 333
//   idle TX = 8 + 13 + 24 = 45, RX cache = 8 + 16 = 24.
#include "allocation_stream_validator.h"
#include "esp_dynamic_transform.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_meta.h"
#include "transform_test_support.h"

#include <algorithm>
#include <gtest/gtest.h>

namespace tlsheap::replay {
namespace {

using testing::added_events;
using testing::ClientTraceOptions;
using testing::OwnedTraceSource;

std::unique_ptr<RecordSource> esp(const ClientTraceOptions& o,
                                  const std::string& spec = "esp-dynamic") {
    return make_transform(ModelSpec::parse(spec),
                          OwnedTraceSource::from_bytes(testing::client_trace(o)));
}

std::vector<std::string> esp_log(const ClientTraceOptions& o,
                                 const std::string& spec = "esp-dynamic") {
    auto source = esp(o, spec);
    return added_events(testing::drain(*source), "esp-dynamic");
}

// The lines of `log` from the one equal to `from` up to (not including) `to`.
std::vector<std::string> slice(const std::vector<std::string>& log, const std::string& from,
                               const std::string& to) {
    auto first = std::find(log.begin(), log.end(), from);
    auto last = std::find(first == log.end() ? log.end() : first + 1, log.end(), to);
    return {first, last};
}

TEST(EspDynamicTransform, Tls12ClientWorkedSizes) {
    const std::vector<std::string> expected = {
        // __wrap_mbedtls_ssl_setup: no static buffers, the idle TX buffer.
        "+45 TX buffer (idle)",
        "HELLO_REQUEST:",
        "CLIENT_HELLO:",
        "-45 TX buffer (idle)",
        "+17058 TX buffer",
        // The ClientHello is still unsent at the end of the step (it leaves
        // first thing in SERVER_HELLO): the TX buffer stays one more step.
        "SERVER_HELLO:",
        "+432 RX buffer", // 8 + 91 + 333
        "-17058 TX buffer",
        "+45 TX buffer (idle)",
        "-432 RX buffer",
        "+24 RX cache",
        "SERVER_CERTIFICATE:",
        "-24 RX cache",
        "+887 RX buffer", // 8 + 546 + 333
        "-887 RX buffer",
        "+24 RX cache",
        // FREE_CA_CERT: what ca_chain_parse left alive (the 100-byte temporary is gone).
        "-441 free CA chain (FREE_CA_CERT)",
        "-64 free CA chain (FREE_CA_CERT)",
        "SERVER_KEY_EXCHANGE:",
        "-24 RX cache",
        "+490 RX buffer", // 8 + 149 + 333
        "-490 RX buffer",
        "+24 RX cache",
        // The record holds a ServerHelloDone, not a CertificateRequest: kept
        // (keep_current_message) and freed after SERVER_HELLO_DONE.
        "CERTIFICATE_REQUEST:",
        "-24 RX cache",
        "+345 RX buffer", // 8 + 4 + 333
        "SERVER_HELLO_DONE:",
        "-345 RX buffer",
        "+24 RX cache",
        // No own certificate: max(3, OBL) = OBL.
        "CLIENT_CERTIFICATE:",
        "-45 TX buffer (idle)",
        "+17058 TX buffer",
        "-17058 TX buffer",
        "+45 TX buffer (idle)",
        "CLIENT_KEY_EXCHANGE:",
        "-45 TX buffer (idle)",
        "+17058 TX buffer",
        "-17058 TX buffer",
        "+45 TX buffer (idle)",
        "CERTIFICATE_VERIFY:",
        "-45 TX buffer (idle)",
        "+17058 TX buffer",
        "-17058 TX buffer",
        "+45 TX buffer (idle)",
        "CLIENT_CHANGE_CIPHER_SPEC:",
        "-45 TX buffer (idle)",
        "+17058 TX buffer",
        "-17058 TX buffer",
        "+45 TX buffer (idle)",
        "CLIENT_FINISHED:",
        "-45 TX buffer (idle)",
        "+17058 TX buffer",
        "-17058 TX buffer",
        "+45 TX buffer (idle)",
        "SERVER_CHANGE_CIPHER_SPEC:",
        "-24 RX cache",
        "+342 RX buffer", // 8 + 1 + 333
        "-342 RX buffer",
        "+24 RX cache",
        "SERVER_FINISHED:",
        "-24 RX cache",
        "+381 RX buffer", // 8 + 40 + 333
        "-381 RX buffer",
        "+24 RX cache",
        "FLUSH_BUFFERS:",
        "HANDSHAKE_WRAPUP:",
        // mbedtls_ssl_write: tx_buffer_len(0) = OBL, the overhead once.
        "-45 TX buffer (idle)",
        "+16725 TX buffer (write)",
        "-16725 TX buffer (write)",
        "+45 TX buffer (idle)",
        // mbedtls_ssl_read of a full AES-GCM record (16384 + 8 + 16 = 16408):
        // 8 + 16408 + 333 = 16749.
        "-24 RX cache",
        "+16749 RX buffer",
        "-16749 RX buffer",
        "+24 RX cache",
        // mbedtls_ssl_close_notify.
        "-45 TX buffer (idle)",
        "+16725 TX buffer (write)",
        "-16725 TX buffer (write)",
        "+45 TX buffer (idle)",
        // __wrap_mbedtls_ssl_free.
        "-45 TX buffer (idle)",
        "-24 RX cache",
    };
    EXPECT_EQ(esp_log({}), expected);
}

TEST(EspDynamicTransform, OutputIsAValidStreamWithoutTheStaticBuffers) {
    auto source = esp({});
    const std::vector<trace::Record> records = testing::drain(*source);
    testing::VectorSource again(records);
    EXPECT_EQ(validate_allocation_stream(again), "");
    for (const trace::Record& r : records) {
        if (r.tag == trace::Tag::Alloc) {
            EXPECT_NE(r.size, 16717u) << "a static record buffer was allocated";
        }
    }
    const auto meta = std::find_if(records.begin(), records.end(), [](const trace::Record& r) {
        return r.tag == trace::Tag::Meta && r.key == trace::meta::kTransform;
    });
    ASSERT_NE(meta, records.end());
    EXPECT_EQ(meta->value, "esp-dynamic:free_ca_cert=on,free_config_data=on,static_rx=off");
}

TEST(EspDynamicTransform, SteadyStateIsIdleTxAndRxCache) {
    // Without the frees of CA chain and config data, the handshake's live
    // bytes differ from the recording's by the two static buffers (16717
    // each) and the 45 + 24 bytes ESP-IDF keeps between records.
    ReplayOptions options;
    options.models = {ModelSpec::parse("ideal")};
    auto original = OwnedTraceSource::from_bytes(testing::client_trace({}));
    const ReplayResult before = replay_trace(*original, options);
    auto rewritten = esp({}, "esp-dynamic:free_ca_cert=off,free_config_data=off");
    const ReplayResult after = replay_trace(*rewritten, options);
    ASSERT_TRUE(before.live_after_handshake && after.live_after_handshake);
    EXPECT_EQ(*after.live_after_handshake, *before.live_after_handshake - 2 * 16717 + 45 + 24);
    EXPECT_TRUE(after.findings.empty());
    EXPECT_TRUE(after.leaks.empty());
    // With FREE_CA_CERT the CA chain's 441 + 64 bytes are gone too.
    auto freed = esp({});
    EXPECT_EQ(*replay_trace(*freed, options).live_after_handshake,
              *after.live_after_handshake - 441 - 64);
}

TEST(EspDynamicTransform, GcmSha256ConfigHasTheSmallOverhead) {
    // O = 45: SERVER_HELLO's RX buffer is 8 + 91 + 45 = 144; OBL = 45 + 16384
    // = 16429, a handshake TX buffer 8 + 16429 + 45 = 16482.
    ClientTraceOptions o;
    o.cbc_sha384 = false;
    const std::vector<std::string> log = esp_log(o);
    EXPECT_EQ(slice(log, "CLIENT_HELLO:", "SERVER_CERTIFICATE:"),
              (std::vector<std::string>{"CLIENT_HELLO:", "-45 TX buffer (idle)", "+16482 TX buffer",
                                        "SERVER_HELLO:", "+144 RX buffer", "-16482 TX buffer",
                                        "+45 TX buffer (idle)", "-144 RX buffer", "+24 RX cache"}));
}

TEST(EspDynamicTransform, ClientCertificateBufferFitsTheOwnChainAndConfigDataIsFreed) {
    // Own chain of DER copies 10000 + 9000: 3 + (10000 + 3) + (9000 + 3) =
    // 19009 > OBL, so 8 + 19009 + 333 = 19350. After CERTIFICATE_VERIFY the own
    // key (200) and the key_cert node (40) go; the own certificate stays
    // (esp_mbedtls_free_keycert_cert is not called on the client).
    ClientTraceOptions o;
    o.mutual = true;
    const std::vector<std::string> log = esp_log(o);
    EXPECT_EQ(
        slice(log, "CLIENT_CERTIFICATE:", "CLIENT_KEY_EXCHANGE:"),
        (std::vector<std::string>{"CLIENT_CERTIFICATE:", "-45 TX buffer (idle)", "+19350 TX buffer",
                                  "-19350 TX buffer", "+45 TX buffer (idle)"}));
    EXPECT_EQ(
        slice(log, "CERTIFICATE_VERIFY:", "CLIENT_CHANGE_CIPHER_SPEC:"),
        (std::vector<std::string>{"CERTIFICATE_VERIFY:", "-45 TX buffer (idle)", "+17058 TX buffer",
                                  "-17058 TX buffer", "+45 TX buffer (idle)",
                                  "-200 free config data (FREE_CONFIG_DATA)",
                                  "-40 free config data (FREE_CONFIG_DATA)"}));
    auto source = esp(o);
    EXPECT_EQ(validate_allocation_stream(*source), "");
    // free_config_data=off keeps them.
    const std::vector<std::string> kept = esp_log(o, "esp-dynamic:free_config_data=off");
    EXPECT_EQ(std::count_if(kept.begin(), kept.end(),
                            [](const std::string& l) { return l.find("config data") != l.npos; }),
              0);
}

TEST(EspDynamicTransform, ARecordWithTwoMessagesIsKeptUntilBothAreConsumed) {
    // ServerKeyExchange and ServerHelloDone in one 153-byte record: in_hslen <
    // in_msglen after SERVER_KEY_EXCHANGE, and CERTIFICATE_REQUEST finds a
    // ServerHelloDone; the buffer (8 + 153 + 333 = 494) goes after SERVER_HELLO_DONE.
    ClientTraceOptions o;
    o.bundled_ske_shd = true;
    EXPECT_EQ(slice(esp_log(o), "SERVER_KEY_EXCHANGE:", "CLIENT_CERTIFICATE:"),
              (std::vector<std::string>{
                  "SERVER_KEY_EXCHANGE:", "-24 RX cache", "+494 RX buffer",
                  "CERTIFICATE_REQUEST:", "SERVER_HELLO_DONE:", "-494 RX buffer", "+24 RX cache"}));
}

TEST(EspDynamicTransform, AStepThatReadsNothingPeeksTheNextRecord) {
    // PSK: SERVER_CERTIFICATE reads nothing, but its add_rx already peeked the
    // next record's header (4 bytes: 8 + 4 + 333 = 345); the buffer is taken
    // for it, here where it arrives.
    ClientTraceOptions o;
    o.psk = true;
    EXPECT_EQ(slice(esp_log(o), "SERVER_CERTIFICATE:", "CLIENT_CERTIFICATE:"),
              (std::vector<std::string>{"SERVER_CERTIFICATE:", "-441 free CA chain (FREE_CA_CERT)",
                                        "-64 free CA chain (FREE_CA_CERT)", "SERVER_KEY_EXCHANGE:",
                                        "-24 RX cache", "+345 RX buffer", "CERTIFICATE_REQUEST:",
                                        "SERVER_HELLO_DONE:", "-345 RX buffer", "+24 RX cache"}));
}

TEST(EspDynamicTransform, StaticRxAfterTheHandshake) {
    // esp_mbedtls_dynamic_set_rx_buf_static: the cache goes, 8 +
    // tx_buffer_len(IN_CONTENT_LEN) = 8 + 16384 + 333 = 16725 stays; reads add nothing.
    const std::vector<std::string> log = esp_log({}, "esp-dynamic:static_rx=on");
    const std::vector<std::string> after(std::find(log.begin(), log.end(), "HANDSHAKE_WRAPUP:") + 1,
                                         log.end());
    EXPECT_EQ(after,
              (std::vector<std::string>{
                  "-24 RX cache", "+16725 RX buffer (static)", "-45 TX buffer (idle)",
                  "+16725 TX buffer (write)", "-16725 TX buffer (write)", "+45 TX buffer (idle)",
                  "-45 TX buffer (idle)", "+16725 TX buffer (write)", "-16725 TX buffer (write)",
                  "+45 TX buffer (idle)", "-45 TX buffer (idle)", "-16725 RX buffer (static)"}));
}

TEST(EspDynamicTransform, Tls13FlightWithEncryptedRecords) {
    // O = 333 with TLS 1.3 and the compatibility mode. The compat CCS is the
    // header EE peeks (8 + 1 + 333 = 342); the Certificate read by
    // CERTIFICATE_REQUEST is kept for SERVER_CERTIFICATE; CERTIFICATE_VERIFY
    // adds a TX and (compat mode) an RX buffer but frees no RX buffer, so
    // SERVER_FINISHED reads into it; the CCS and Finished written by
    // CLIENT_CCS_AFTER_SERVER_FINISHED and CLIENT_FINISHED leave in the next
    // step, which is when their TX buffer goes.
    ClientTraceOptions o;
    o.tls13 = true;
    const std::vector<std::string> expected = {
        "+45 TX buffer (idle)",
        "HELLO_REQUEST:",
        "CLIENT_HELLO:",
        "-45 TX buffer (idle)",
        "+17058 TX buffer",
        "SERVER_HELLO:",
        "+496 RX buffer", // 8 + 155 + 333
        "-17058 TX buffer",
        "+45 TX buffer (idle)",
        "-496 RX buffer",
        "+24 RX cache",
        "ENCRYPTED_EXTENSIONS:",
        "-24 RX cache",
        "+342 RX buffer",
        "-342 RX buffer",
        "+24 RX cache",
        "CERTIFICATE_REQUEST:",
        "-24 RX cache",
        "+917 RX buffer", // 8 + 576 + 333
        "SERVER_CERTIFICATE:",
        "-917 RX buffer",
        "+24 RX cache",
        "-441 free CA chain (FREE_CA_CERT)",
        "-64 free CA chain (FREE_CA_CERT)",
        "CERTIFICATE_VERIFY:",
        "-45 TX buffer (idle)",
        "+17058 TX buffer",
        "-24 RX cache",
        "+437 RX buffer", // 8 + 96 + 333
        "-17058 TX buffer",
        "+45 TX buffer (idle)",
        "SERVER_FINISHED:",
        "-437 RX buffer",
        "+24 RX cache",
        "CLIENT_CCS_AFTER_SERVER_FINISHED:",
        "-45 TX buffer (idle)",
        "+17058 TX buffer",
        "CLIENT_CERTIFICATE:",
        "-17058 TX buffer",
        "+45 TX buffer (idle)",
        "CLIENT_FINISHED:",
        "-45 TX buffer (idle)",
        "+17058 TX buffer",
        "FLUSH_BUFFERS:",
        "-17058 TX buffer",
        "+45 TX buffer (idle)",
        "HANDSHAKE_WRAPUP:",
    };
    const std::vector<std::string> log = esp_log(o);
    const auto end = std::find(log.begin(), log.end(), "HANDSHAKE_WRAPUP:");
    ASSERT_NE(end, log.end());
    EXPECT_EQ(std::vector<std::string>(log.begin(), end + 1), expected);
}

TEST(EspDynamicTransform, AFailedStepLeavesItsBuffersForSslFree) {
    // CHECK_OK returns before manage_resource(!add): the RX buffer of the
    // failed step (8 + 149 + 333 = 490) is freed by mbedtls_ssl_free.
    ClientTraceOptions o;
    o.fail_at_server_key_exchange = true;
    auto source = esp(o);
    const std::vector<trace::Record> records = testing::drain(*source);
    const std::vector<std::string> log = added_events(records, "esp-dynamic");
    EXPECT_EQ(std::vector<std::string>(log.end() - 5, log.end()),
              (std::vector<std::string>{"SERVER_KEY_EXCHANGE:", "-24 RX cache", "+490 RX buffer",
                                        "-45 TX buffer (idle)", "-490 RX buffer"}));
    testing::VectorSource again(records);
    EXPECT_EQ(validate_allocation_stream(again), "");
}

TEST(EspDynamicTransform, AReplacedRecordBufferIsDroppedToo) {
    // The new in_buf (4000 bytes) named after HANDSHAKE_WRAPUP never appears;
    // freeing the old one mid-handshake is not mbedtls_ssl_free.
    auto source = make_transform(ModelSpec::parse("esp-dynamic"),
                                 OwnedTraceSource::from_bytes(testing::resized_buffer_trace()));
    const std::vector<trace::Record> records = testing::drain(*source);
    testing::VectorSource again(records);
    EXPECT_EQ(validate_allocation_stream(again), "");
    for (const trace::Record& r : records) {
        if (r.tag == trace::Tag::Alloc) {
            EXPECT_TRUE(r.size != 4000 && r.size != 16717) << r.size;
        }
    }
    const std::vector<std::string> log = added_events(records, "esp-dynamic");
    EXPECT_EQ(std::vector<std::string>(log.end() - 6, log.end()),
              (std::vector<std::string>{"-24 RX cache", "+441 RX buffer", "-441 RX buffer",
                                        "+24 RX cache", "-45 TX buffer (idle)", "-24 RX cache"}));
}

// Why the transform refused the trace `o` makes ("" if it took it).
std::string refusal(const ClientTraceOptions& o) {
    auto source = esp(o);
    try {
        testing::drain(*source);
    } catch (const TransformError& e) {
        return e.what();
    }
    return {};
}

TEST(EspDynamicTransform, RefusesDtls) {
    ClientTraceOptions o;
    o.transport = "datagram";
    EXPECT_EQ(refusal(o), "transform esp-dynamic does not apply: it is a DTLS recording (meta "
                          "transport=datagram), and ESP-IDF's dynamic buffers do not support DTLS "
                          "(the scheme models TLS over TCP)");
}

TEST(EspDynamicTransform, RefusesDtlsRecordsInATraceThatDoesNotSayItsTransport) {
    ClientTraceOptions o;
    o.dtls_records = true;
    EXPECT_EQ(refusal(o), "transform esp-dynamic does not apply: it is a DTLS recording (its TLS "
                          "records came in UDP datagrams), and ESP-IDF's dynamic buffers do not "
                          "support DTLS (the scheme models TLS over TCP)");
}

TEST(EspDynamicTransform, RefusesATraceWithoutTlsRecords) {
    ClientTraceOptions o;
    o.tls_records = false;
    auto source = esp(o);
    EXPECT_THROW(
        {
            try {
                testing::drain(*source);
            } catch (const TransformError& e) {
                EXPECT_NE(std::string(e.what()).find("has no TlsRecord records"), std::string::npos)
                    << e.what();
                throw;
            }
        },
        TransformError);
}

TEST(EspDynamicTransform, RefusesATraceWithoutRoles) {
    ClientTraceOptions o;
    o.roles = false;
    auto source = esp(o);
    EXPECT_THROW(
        {
            try {
                testing::drain(*source);
            } catch (const TransformError& e) {
                EXPECT_NE(std::string(e.what()).find("has no Role records"), std::string::npos)
                    << e.what();
                throw;
            }
        },
        TransformError);
}

TEST(EspDynamicTransform, RefusesServerSideRecordings) {
    ClientTraceOptions o;
    o.side = "server";
    auto source = esp(o);
    EXPECT_THROW(
        {
            try {
                testing::drain(*source);
            } catch (const TransformError& e) {
                EXPECT_NE(std::string(e.what()).find("server-side recording"), std::string::npos)
                    << e.what();
                throw;
            }
        },
        TransformError);
}

} // namespace
} // namespace tlsheap::replay
