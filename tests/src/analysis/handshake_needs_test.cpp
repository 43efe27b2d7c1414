// What a recorded handshake needed, read from a committed real recording
// (traces/tls12-ecdhe-rsa-chain.trace: TLS 1.2 ECDHE-RSA AES-128-GCM, the
// server sends a leaf and an intermediate, then 4 KiB of application data).
// The figures were read off `tlsheap trace show --events` by hand.
#include "analysis/handshake_needs.h"

#include <gtest/gtest.h>

namespace tlsheap::analysis {
namespace {

const std::string kTrace = std::string(TLSHEAP_SOURCE_DIR) + "/traces/tls12-ecdhe-rsa-chain.trace";

TEST(HandshakeNeeds, RecordsOfEachDirection) {
    const HandshakeNeeds n = analyze_handshake(kTrace);
    ASSERT_TRUE(n.handshake_ok);
    EXPECT_EQ(n.protocol, "TLSv1.2");
    EXPECT_EQ(n.ciphersuite, "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256");
    EXPECT_EQ(n.expansion, 24u); // 8-byte explicit nonce + 16-byte tag
    // The application data: 4,096 bytes of body plus the response header in
    // one record, 4,165 bytes on the wire.
    EXPECT_EQ(n.in.largest_wire, 4165u);
    EXPECT_EQ(n.in.largest_content, 4165u - 24u);
    EXPECT_EQ(n.in.largest_what, "application data");
    // The Certificate message: both certificates (937 + 876 bytes of DER),
    // 3-byte length prefixes, a 3-byte list length, the 4-byte header.
    EXPECT_EQ(n.in.largest_handshake, 937u + 876u + 2 * 3 + 3 + 4);
    EXPECT_EQ(n.in.largest_handshake_what, "Certificate");
    EXPECT_EQ(n.out.largest_handshake, 121u);
    EXPECT_EQ(n.out.largest_handshake_what, "ClientHello");
    EXPECT_EQ(n.in_content_len, 16384u);
    EXPECT_EQ(n.out_content_len, 16384u);
}

TEST(HandshakeNeeds, CertificateChainsAndWhatIsAliveAtThePeak) {
    const HandshakeNeeds n = analyze_handshake(kTrace);
    ASSERT_EQ(n.chains.size(), 2u);
    EXPECT_EQ(n.chains[0].owner, "peer");
    EXPECT_EQ(n.chains[0].der, (std::vector<std::uint64_t>{937, 876}));
    EXPECT_EQ(n.chains[1].owner, "trusted CAs");
    EXPECT_EQ(n.chains[1].der, (std::vector<std::uint64_t>{832}));
    // The peer's chain stays in the session (MBEDTLS_SSL_KEEP_PEER_CERTIFICATE).
    EXPECT_GT(n.chains[0].alive_after_handshake, 937u + 876u);
    // The breakdown adds up to the live peak, and the record buffers are the
    // two largest parts.
    std::uint64_t sum = 0;
    for (const PeakShare& s : n.alive_at_peak)
        sum += s.bytes;
    EXPECT_EQ(sum, n.live_peak);
    ASSERT_GE(n.alive_at_peak.size(), 2u);
    EXPECT_EQ(n.alive_at_peak[0].bytes, n.in_buffer_len);
    EXPECT_EQ(n.alive_at_peak[1].bytes, n.out_buffer_len);
}

TEST(SmallestExpansion, PerCipherSuiteFamily) {
    std::string basis;
    EXPECT_EQ(smallest_expansion("TLSv1.2", "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256", basis), 24u);
    EXPECT_EQ(smallest_expansion("TLSv1.2", "TLS-PSK-WITH-AES-128-CCM", basis), 24u);
    EXPECT_EQ(smallest_expansion("TLSv1.2", "TLS-PSK-WITH-AES-128-CCM-8", basis), 16u);
    EXPECT_EQ(smallest_expansion("TLSv1.2", "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256", basis),
              16u);
    // CBC: IV, MAC and at least the padding-length byte.
    EXPECT_EQ(smallest_expansion("TLSv1.2", "TLS-ECDHE-RSA-WITH-AES-128-CBC-SHA256", basis),
              16u + 32u + 1u);
    EXPECT_EQ(smallest_expansion("TLSv1.2", "TLS-RSA-WITH-AES-256-CBC-SHA", basis), 16u + 20u + 1u);
    EXPECT_EQ(smallest_expansion("TLSv1.2", "TLS-PSK-WITH-NULL-SHA256", basis), 32u);
    // TLS 1.3: the tag and the inner content type.
    EXPECT_EQ(smallest_expansion("TLSv1.3", "TLS1-3-AES-128-GCM-SHA256", basis), 17u);
    EXPECT_EQ(smallest_expansion("TLSv1.3", "TLS1-3-AES-128-CCM-8-SHA256", basis), 9u);
    // Unknown: nothing subtracted (records counted whole, never too small).
    EXPECT_EQ(smallest_expansion("TLSv1.2", "TLS-SOMETHING-NEW", basis), 0u);
}

} // namespace
} // namespace tlsheap::analysis
