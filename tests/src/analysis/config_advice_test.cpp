// Proposed config changes: the buffer rules worked out by hand on a handshake
// described in a few numbers, then the proposals and predictions for a real
// recording (traces/tls12-ecdhe-rsa-chain.trace).
#include "analysis/config_advice.h"
#include "tlsheap/trace_meta.h"

#include <algorithm>
#include <gtest/gtest.h>

namespace tlsheap::analysis {
namespace {

// A TLS 1.2 client that received a 1,826-byte Certificate and 4,141 bytes of
// application data in one record, and sent a 121-byte ClientHello.
HandshakeNeeds client_needs(const std::string& version = "3.6.6") {
    HandshakeNeeds n;
    n.side = "client";
    n.protocol = "TLSv1.2";
    n.meta[trace::meta::kMbedtlsVersion] = version;
    n.in.records = 7;
    n.in.largest_content = 4141;
    n.in.largest_what = "application data";
    n.in.largest_handshake = 1826;
    n.in.largest_handshake_what = "Certificate";
    n.out.records = 6;
    n.out.largest_handshake = 121;
    n.out.largest_handshake_what = "ClientHello";
    return n;
}

TEST(InContentLen, WithoutMaxFragmentLengthEveryRecordMustFit) {
    const HandshakeNeeds n = client_needs();
    EXPECT_EQ(in_content_len_problem(n, 4141, 16384, false), "");
    EXPECT_NE(in_content_len_problem(n, 4140, 16384, false).find("4,141 B of application data"),
              std::string::npos);
}

TEST(InContentLen, WithMaxFragmentLengthTheLargestHandshakeMessageMustFit) {
    const HandshakeNeeds n = client_needs();
    // 1,826: the client asks for 1,024-byte records; mbedTLS 3.6.3+ puts the
    // Certificate back together in the buffer.
    EXPECT_EQ(in_content_len_problem(n, 1826, 16384, true), "");
    EXPECT_NE(in_content_len_problem(n, 1825, 16384, true).find("Certificate"), std::string::npos);
    // mbedtls_ssl_conf_max_frag_len refuses a length above OUT_CONTENT_LEN.
    EXPECT_NE(in_content_len_problem(n, 1826, 1000, true).find("refuses"), std::string::npos);
    EXPECT_EQ(in_content_len_problem(n, 1826, 1024, true), "");
    // Below 512 bytes there is no maximum fragment length small enough.
    HandshakeNeeds tiny = client_needs();
    tiny.in.largest_handshake = 300;
    tiny.out.largest_handshake = 100;
    EXPECT_NE(in_content_len_problem(tiny, 400, 16384, true).find("refuses"), std::string::npos);
    EXPECT_EQ(in_content_len_problem(tiny, 512, 16384, true), "");
}

TEST(InContentLen, WithoutReassemblyTheFragmentMustHoldTheMessage) {
    // mbedTLS 2.28 cannot reassemble a Certificate split into 1,024-byte records.
    const HandshakeNeeds n = client_needs("2.28.3");
    EXPECT_NE(in_content_len_problem(n, 1826, 16384, true).find("cannot reassemble"),
              std::string::npos);
    EXPECT_EQ(in_content_len_problem(n, 2048, 16384, true), "");
}

TEST(OutContentLen, TheLargestHandshakeMessageSentAndTheFragmentLength) {
    const HandshakeNeeds n = client_needs();
    EXPECT_EQ(out_content_len_problem(n, 121, 16384, true), "");
    EXPECT_NE(out_content_len_problem(n, 120, 16384, true).find("ClientHello"), std::string::npos);
    // A 1,826-byte input buffer makes the client ask for 1,024.
    EXPECT_NE(out_content_len_problem(n, 121, 1826, true).find("1024"), std::string::npos);
    EXPECT_EQ(out_content_len_problem(n, 1024, 1826, true), "");
}

const std::string kTrace = std::string(TLSHEAP_SOURCE_DIR) + "/traces/tls12-ecdhe-rsa-chain.trace";

const Proposal* find_change(const Advice& a, const std::string& change) {
    for (const Proposal& p : a.proposals)
        for (const ConfigChange& c : p.changes)
            if (c.to_string() == change && p.changes.size() == 1)
                return &p;
    return nullptr;
}

TEST(Advise, ProposesBuffersThatFitAndPredictsTheirSavingsExactly) {
    const HandshakeNeeds n = analyze_handshake(kTrace);
    const Advice a = advise(n, {});
    const Proposal* in = find_change(a, "--set MBEDTLS_SSL_IN_CONTENT_LEN=1826");
    ASSERT_NE(in, nullptr);
    ASSERT_TRUE(in->predicted.has_value());
    // The input buffer is alive from mbedtls_ssl_setup to mbedtls_ssl_free:
    // every figure drops by exactly what it shrinks.
    EXPECT_EQ(a.now.live_peak - in->predicted->live_peak, 16384u - 1826u);
    EXPECT_EQ(*a.now.steady_state - *in->predicted->steady_state, 16384u - 1826u);
    const Proposal* out = find_change(a, "--set MBEDTLS_SSL_OUT_CONTENT_LEN=121");
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(a.now.live_peak - out->predicted->live_peak, 16384u - 121u);
}

TEST(Advise, DropsThePeerChainAndTlsOneThreeTogether) {
    const HandshakeNeeds n = analyze_handshake(kTrace);
    const Advice a = advise(n, {});
    const auto keep = std::find_if(a.proposals.begin(), a.proposals.end(), [](const Proposal& p) {
        return !p.changes.empty() && p.changes[0].name == "MBEDTLS_SSL_KEEP_PEER_CERTIFICATE";
    });
    ASSERT_NE(keep, a.proposals.end());
    ASSERT_EQ(keep->changes.size(), 2u); // 3.6 requires it for TLS 1.3
    EXPECT_EQ(keep->changes[1].to_string(), "--unset MBEDTLS_SSL_PROTO_TLS1_3");
    // After the handshake only the 32-byte digest of the chain remains.
    EXPECT_EQ(*a.now.steady_state - *keep->predicted->steady_state,
              n.chains[0].alive_after_handshake - 32);
    // Together: the output buffer holds the 1,024-byte fragments the client asks for.
    const Proposal& all = a.proposals.back();
    EXPECT_EQ(all.title, "all of the above together");
    const auto has = [&](const std::string& c) {
        return std::any_of(all.changes.begin(), all.changes.end(),
                           [&](const ConfigChange& x) { return x.to_string() == c; });
    };
    EXPECT_TRUE(has("--set MBEDTLS_SSL_IN_CONTENT_LEN=1826"));
    EXPECT_TRUE(has("--set MBEDTLS_SSL_OUT_CONTENT_LEN=1024"));
    EXPECT_TRUE(has("--unset MBEDTLS_SSL_KEEP_PEER_CERTIFICATE"));
}

TEST(Advise, ATryThatCannotCarryTheHandshakeIsPredictedToBreak) {
    const HandshakeNeeds n = analyze_handshake(kTrace);
    const Advice a = advise(n, {{true, "MBEDTLS_SSL_IN_CONTENT_LEN", "1024"}});
    const Proposal& mine = a.proposals.back();
    EXPECT_TRUE(mine.user);
    EXPECT_NE(mine.predicted_break.find("Certificate"), std::string::npos) << mine.predicted_break;
    EXPECT_FALSE(mine.predicted.has_value());
    // A macro the prediction cannot model is measured only.
    const Advice b = advise(n, {{false, "MBEDTLS_SSL_SESSION_TICKETS", ""}});
    EXPECT_NE(b.proposals.back().not_predicted.find("MBEDTLS_SSL_SESSION_TICKETS"),
              std::string::npos);
}

} // namespace
} // namespace tlsheap::analysis
