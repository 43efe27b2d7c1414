// config-delta on real recordings (traces/*.trace): what a smaller config
// would have allocated, by rules checked against the recording itself.
#include "allocation_stream_validator.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_info.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/transform.h"
#include "transform_test_support.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace tlsheap::replay {
namespace {

namespace fs = std::filesystem;

std::string path_of(const std::string& name) {
    return (fs::path(TLSHEAP_SOURCE_DIR) / "traces" / (name + ".trace")).string();
}

ReplayResult replay_spec(const std::string& trace, const std::string& spec) {
    ReplayOptions options;
    options.models = {ModelSpec::parse("mbedtls-pool")};
    if (spec.empty()) {
        trace::TraceReader reader(path_of(trace));
        return replay_trace(reader, options);
    }
    auto source = make_transform(ModelSpec::parse(spec),
                                 testing::OwnedTraceSource::from_file(path_of(trace)));
    return replay_trace(*source, options);
}

// Recordings whose record buffers are MBEDTLS_SSL_IN/OUT_CONTENT_LEN 16384.
class FullBufferTrace : public ::testing::TestWithParam<std::string> {};

TEST_P(FullBufferTrace, SmallerBuffersLowerEveryFigureByExactlyTheDifference) {
    const ReplayResult before = replay_spec(GetParam(), "");
    ASSERT_EQ(before.info.meta(trace::meta::kSslInContentLen), "16384");
    ASSERT_EQ(before.info.meta(trace::meta::kSslOutContentLen), "16384");
    const ReplayResult after =
        replay_spec(GetParam(), "config-delta:in_content_len=4096,out_content_len=2048");
    const std::uint64_t saved = (16384 - 4096) + (16384 - 2048);
    // Both buffers live from mbedtls_ssl_setup to mbedtls_ssl_free, and the
    // peak and the steady state fall in between.
    EXPECT_EQ(before.live_peak.bytes - after.live_peak.bytes, saved);
    ASSERT_TRUE(before.live_after_handshake && after.live_after_handshake);
    EXPECT_EQ(*before.live_after_handshake - *after.live_after_handshake, saved);
    EXPECT_EQ(before.allocs, after.allocs);
    EXPECT_TRUE(after.leaks.empty());
}

INSTANTIATE_TEST_SUITE_P(Recordings, FullBufferTrace,
                         ::testing::Values("tls12-ecdhe-ecdsa-p256", "tls12-ecdhe-rsa-chain",
                                           "tls12-psk-aes128-ccm-server", "tls13-ecdsa-p256",
                                           "tls12-ecdhe-ecdsa-p256-mbedtls228",
                                           "tls12-ecdhe-ecdsa-p256-arm"));

// What was made in the certificate state and is still there when the
// handshake ends: in these recordings, exactly the peer's parsed chain.
std::uint64_t kept_from_certificate_state(const std::string& trace) {
    trace::TraceReader reader(path_of(trace));
    trace::TraceInfo info;
    trace::Record r;
    std::map<std::uint64_t, std::uint64_t> made_there;
    std::string state;
    trace::Phase phase = trace::Phase::Setup;
    std::uint64_t kept = 0;
    while (reader.next(r)) {
        if (info.absorb(r))
            continue;
        if (r.tag == trace::Tag::StepBegin || r.tag == trace::Tag::StepEnd)
            state = info.state_name(r.state);
        if (r.tag == trace::Tag::Alloc && r.address != 0 && state == "SERVER_CERTIFICATE" &&
            phase == trace::Phase::Handshake)
            made_there[r.seq] = r.count * r.size;
        if (r.tag == trace::Tag::Free)
            made_there.erase(r.alloc_seq);
        if (r.tag == trace::Tag::Phase) {
            if (phase == trace::Phase::Handshake && r.phase == trace::Phase::Application)
                for (const auto& [seq, size] : made_there)
                    kept += size;
            phase = r.phase;
        }
    }
    return kept;
}

TEST(KeepPeerCertificateOff, TheSessionKeepsADigestInsteadOfTheChain) {
    for (const char* trace : {"tls12-ecdhe-rsa-chain", "tls12-ecdhe-ecdsa-p256"}) {
        const ReplayResult before = replay_spec(trace, "");
        const ReplayResult after = replay_spec(trace, "config-delta:keep_peer_cert=off");
        const std::uint64_t chain = kept_from_certificate_state(trace);
        ASSERT_GT(chain, 0u) << trace;
        // SHA-256 digest: MBEDTLS_SSL_PEER_CERT_DIGEST_DFL_LEN = 32.
        EXPECT_EQ(*before.live_after_handshake - *after.live_after_handshake, chain - 32) << trace;
        EXPECT_LE(after.live_peak.bytes, before.live_peak.bytes) << trace;
        EXPECT_TRUE(after.leaks.empty()) << trace;
        auto source = make_transform(ModelSpec::parse("config-delta:keep_peer_cert=off"),
                                     testing::OwnedTraceSource::from_file(path_of(trace)));
        EXPECT_EQ(validate_allocation_stream(*source), "") << trace;
    }
}

TEST(KeepPeerCertificateOff, TheDerCopiesAreNeverMade) {
    // mbedtls_x509_crt_parse_der_nocopy: the two certificates' DER copies
    // (937 and 876 bytes in this recording) go, whatever else changes.
    const ReplayResult before = replay_spec("tls12-ecdhe-rsa-chain", "");
    const ReplayResult after =
        replay_spec("tls12-ecdhe-rsa-chain", "config-delta:keep_peer_cert=off");
    EXPECT_EQ(before.bytes_allocated - after.bytes_allocated,
              937u + 876u - 32u /* digest */ -
                  (120u + 65u * 4u + 4u) /* the leaf's RSA key, parsed again */);
}

TEST(KeepPeerCertificateOff, RefusesTlsOneThree) {
    auto source = make_transform(ModelSpec::parse("config-delta:keep_peer_cert=off"),
                                 testing::OwnedTraceSource::from_file(path_of("tls13-ecdsa-p256")));
    trace::Record r;
    try {
        while (source->next(r)) {
        }
        ADD_FAILURE() << "a TLS 1.3 recording went through keep_peer_cert=off";
    } catch (const TransformError& e) {
        EXPECT_NE(std::string(e.what()).find("TLS 1.3"), std::string::npos) << e.what();
    }
}

TEST(ConfigDelta, BadOptionsAreOneLineErrors) {
    for (const char* spec : {"config-delta:in_content_len=20000",
                             "config-delta:keep_peer_cert=maybe", "config-delta:buffers=1"}) {
        EXPECT_THROW(make_transform(ModelSpec::parse(spec), testing::OwnedTraceSource::from_file(
                                                                path_of("tls12-ecdhe-ecdsa-p256"))),
                     TransformError)
            << spec;
    }
}

} // namespace
} // namespace tlsheap::replay
