// The overhead O = 13 + 16 + MAC_ADD + PADDING_ADD + CID_EXPANSION of ESP-IDF's
// tx_buffer_len(), worked out by hand from mbedTLS's macros for a few configs.
#include "esp_buffer_overhead.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace tlsheap::replay {
namespace {

ConfigMacros v36(std::initializer_list<const char*> names) {
    ConfigMacros c{{"MBEDTLS_VERSION_MAJOR", "3"}, {"MBEDTLS_SSL_PROTO_TLS1_2", ""}};
    for (const char* n : names)
        c[n] = "";
    return c;
}

TEST(EspBufferOverhead, GcmWithSha256Only) {
    // AEAD only: no suite uses a MAC, so MAC_ADD is the 16-byte tag; no CBC,
    // so no padding; no CID. O = 13 + 16 + 16 = 45.
    const EspRecordOverhead o =
        esp_record_overhead(v36({"MBEDTLS_AES_C", "MBEDTLS_GCM_C", "MBEDTLS_SHA256_C"}), {});
    EXPECT_EQ(o.mac_add, 16u);
    EXPECT_EQ(o.padding_add, 0u);
    EXPECT_EQ(o.cid_expansion, 0u);
    EXPECT_EQ(o.total(), 45u);
}

TEST(EspBufferOverhead, CbcWithSha384) {
    // CBC suites with AES use HMAC: the largest hash, SHA-384, adds 48;
    // CBC adds 256 of padding. O = 13 + 16 + 48 + 256 = 333 (MODELS.md's worked O).
    const EspRecordOverhead o = esp_record_overhead(
        v36({"MBEDTLS_AES_C", "MBEDTLS_CIPHER_MODE_CBC", "MBEDTLS_SHA256_C", "MBEDTLS_SHA384_C"}),
        {});
    EXPECT_EQ(o.mac_add, 48u);
    EXPECT_EQ(o.padding_add, 256u);
    EXPECT_EQ(o.total(), 333u);
}

TEST(EspBufferOverhead, CbcWithSha384ThroughPsa) {
    // With MBEDTLS_USE_PSA_CRYPTO, CBC and SHA-384 come from PSA_WANT_*:
    // the same 48 + 256, O = 333.
    const EspRecordOverhead o = esp_record_overhead(
        v36({"MBEDTLS_USE_PSA_CRYPTO", "MBEDTLS_PSA_CRYPTO_C", "PSA_WANT_KEY_TYPE_AES",
             "PSA_WANT_ALG_CBC_NO_PADDING", "PSA_WANT_ALG_SHA_256", "PSA_WANT_ALG_SHA_384"}),
        {});
    EXPECT_EQ(o.total(), 333u);
}

TEST(EspBufferOverhead, CbcWithSha256Only) {
    // HMAC with SHA-256 at most: 32. O = 13 + 16 + 32 + 256 = 317.
    EXPECT_EQ(esp_record_overhead(
                  v36({"MBEDTLS_AES_C", "MBEDTLS_CIPHER_MODE_CBC", "MBEDTLS_SHA256_C"}), {})
                  .total(),
              317u);
}

TEST(EspBufferOverhead, ConnectionIdAddsItsPaddingGranularity) {
    // MBEDTLS_SSL_DTLS_CONNECTION_ID: MBEDTLS_SSL_CID_TLS1_3_PADDING_GRANULARITY,
    // 16 unless configured. O = 333 + 16 = 349 (the default 3.6 config); with
    // a granularity of 32, 333 + 32 = 365.
    ConfigMacros c = v36({"MBEDTLS_AES_C", "MBEDTLS_CIPHER_MODE_CBC", "MBEDTLS_SHA384_C",
                          "MBEDTLS_SSL_DTLS_CONNECTION_ID"});
    EXPECT_EQ(esp_record_overhead(c, {}).cid_expansion, 16u);
    EXPECT_EQ(esp_record_overhead(c, {}).total(), 349u);
    c["MBEDTLS_SSL_CID_TLS1_3_PADDING_GRANULARITY"] = "32";
    EXPECT_EQ(esp_record_overhead(c, {}).total(), 365u);
}

TEST(EspBufferOverhead, CbcWithoutTls12StillPads) {
    // TLS 1.3 only: no CBC suite, so MAC_ADD is 16, but ssl_misc.h keys
    // PADDING_ADD on MBEDTLS_SSL_HAVE_CBC alone. O = 13 + 16 + 16 + 256 = 301.
    ConfigMacros c = v36({"MBEDTLS_AES_C", "MBEDTLS_CIPHER_MODE_CBC", "MBEDTLS_SHA384_C"});
    c.erase("MBEDTLS_SSL_PROTO_TLS1_2");
    EXPECT_EQ(esp_record_overhead(c, {}).total(), 301u);
}

TEST(EspBufferOverhead, Mbedtls228Macros) {
    // 2.28 ssl_internal.h: SHA512_C gives 48 (SHA-384 HMAC), CIPHER_MODE_CBC 256.
    const ConfigMacros cbc{
        {"MBEDTLS_CIPHER_MODE_CBC", ""}, {"MBEDTLS_AES_C", ""}, {"MBEDTLS_SHA512_C", ""}};
    EXPECT_EQ(esp_record_overhead(cbc, {{trace::meta::kMbedtlsVersion, "2.28.3"}}).total(), 333u);
    const ConfigMacros gcm{{"MBEDTLS_GCM_C", ""}, {"MBEDTLS_AES_C", ""}, {"MBEDTLS_SHA256_C", ""}};
    EXPECT_EQ(esp_record_overhead(gcm, {{trace::meta::kMbedtlsVersion, "2.28.3"}}).total(), 45u);
}

TEST(EspBufferOverhead, OutBufferLengthWithoutMetadata) {
    // MBEDTLS_SSL_OUT_BUFFER_LEN = 13 + (16 + MAC + PAD + CID) + OUT_CONTENT_LEN
    // (+ MBEDTLS_SSL_CID_OUT_LEN_MAX with CID) = O + content (+ 32).
    ConfigMacros c = v36({"MBEDTLS_AES_C", "MBEDTLS_CIPHER_MODE_CBC", "MBEDTLS_SHA384_C"});
    EXPECT_EQ(esp_buffer_sizes(c, {}).out_buffer_len, 333u + 16384u);
    c["MBEDTLS_SSL_OUT_CONTENT_LEN"] = "4096";
    EXPECT_EQ(esp_buffer_sizes(c, {}).out_buffer_len, 333u + 4096u);
    c["MBEDTLS_SSL_DTLS_CONNECTION_ID"] = "";
    EXPECT_EQ(esp_buffer_sizes(c, {}).out_buffer_len, 349u + 4096u + 32u);
    // The library's own figure wins when the recorder wrote it.
    EXPECT_EQ(esp_buffer_sizes(c, {{trace::meta::kSslOutBufferLen, "5000"}}).out_buffer_len, 5000u);
    EXPECT_EQ(esp_buffer_sizes(c, {{trace::meta::kSslInContentLen, "2048"}}).in_content_len, 2048u);
}

TEST(EspBufferOverhead, DerivedFromARecordedConfigMatchesTheLibrary) {
    // The committed 3.6 recording's config (CBC, SHA-384, CID) gives O = 349;
    // OUT_BUFFER_LEN derived from it equals what the recorded library reported.
    trace::TraceReader reader(std::string(TLSHEAP_SOURCE_DIR) +
                              "/traces/tls12-ecdhe-ecdsa-p256.trace");
    ConfigMacros config;
    TraceMeta meta;
    trace::Record r;
    while (reader.next(r) && r.tag != trace::Tag::Phase) {
        if (r.tag == trace::Tag::Config)
            config[r.key] = r.value;
        else if (r.tag == trace::Tag::Meta)
            meta[r.key] = r.value;
    }
    EXPECT_EQ(esp_record_overhead(config, meta).total(), 349u);
    const std::string reported = meta.at(trace::meta::kSslOutBufferLen);
    meta.erase(trace::meta::kSslOutBufferLen);
    EXPECT_EQ(std::to_string(esp_buffer_sizes(config, meta).out_buffer_len), reported);
}

} // namespace
} // namespace tlsheap::replay
