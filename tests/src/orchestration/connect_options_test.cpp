// What `profile --connect`'s options do to the scenario and to the
// recorder's arguments, worked out by hand.
#include "orchestration/connect_options.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace tlsheap::record {
namespace {

namespace fs = std::filesystem;

Scenario default_like() {
    Scenario s;
    s.name = "tls12-ecdhe-ecdsa-p256";
    s.protocol = "tls1.2";
    s.mbedtls_ciphersuites = {"TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"};
    s.groups = {"secp256r1"};
    s.auth_mode = "certificate";
    s.requires_ = {"MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED"};
    return s;
}

TEST(ConnectOptions, RequestEscapesAreDecoded) {
    std::string problem;
    EXPECT_EQ(unescape_request("GET / HTTP/1.0\\r\\n\\r\\n", problem),
              std::optional<std::string>("GET / HTTP/1.0\r\n\r\n"));
    EXPECT_EQ(unescape_request("a\\tb\\\\c\\\"d\\x41\\x7e\\0", problem),
              std::optional<std::string>(std::string("a\tb\\c\"dA~\0", 10)));
    EXPECT_EQ(unescape_request("", problem), std::optional<std::string>(""));
    for (const char* bad : {"\\", "\\q", "\\x", "\\x4", "\\x4g"}) {
        problem.clear();
        EXPECT_FALSE(unescape_request(bad, problem).has_value()) << bad;
        EXPECT_FALSE(problem.empty()) << bad;
    }
    EXPECT_FALSE(unescape_request(std::string(64 * 1024 + 1, 'a'), problem).has_value());
}

TEST(ConnectOptions, NothingGivenLeavesTheScenarioAsItIs) {
    const Scenario s = with_connect_options(default_like(), ConnectOptions{});
    EXPECT_EQ(s.protocol, "tls1.2");
    EXPECT_EQ(s.mbedtls_ciphersuites, default_like().mbedtls_ciphersuites);
    EXPECT_EQ(s.requires_, default_like().requires_);
    EXPECT_EQ(ConnectOptions{}.summary(), "");
    // Against a server the user runs a short answer is a note, always.
    EXPECT_EQ(external_exchange_arguments(ConnectOptions{}),
              std::vector<std::string>{"--short-answer-ok"});
}

TEST(ConnectOptions, ProtocolOrPskWithoutSuitesOffersMbedtlsDefaults) {
    ConnectOptions o;
    o.protocol = "tls1.3";
    Scenario s = with_connect_options(default_like(), o);
    EXPECT_EQ(s.protocol, "tls1.3");
    EXPECT_TRUE(s.mbedtls_ciphersuites.empty());
    EXPECT_EQ(s.groups, default_like().groups);
    EXPECT_TRUE(s.requires_.empty());

    ConnectOptions psk;
    psk.psk_hex = "00ff";
    psk.psk_identity = "dev";
    psk.groups = {"x25519"};
    s = with_connect_options(default_like(), psk);
    EXPECT_EQ(s.auth_mode, "psk");
    EXPECT_EQ(s.psk_hex, "00ff");
    EXPECT_EQ(s.psk_identity, "dev");
    EXPECT_TRUE(s.mbedtls_ciphersuites.empty());
    EXPECT_EQ(s.groups, std::vector<std::string>{"x25519"});
    EXPECT_EQ(psk.summary(), "--group x25519 --psk (hidden) --psk-identity dev");

    ConnectOptions suite = psk;
    suite.ciphersuites = {"TLS-PSK-WITH-AES-128-GCM-SHA256"};
    EXPECT_EQ(with_connect_options(default_like(), suite).mbedtls_ciphersuites, suite.ciphersuites);
}

TEST(ConnectOptions, ClientCertificateMakesTheHandshakeMutual) {
    ConnectOptions o;
    o.client_cert = {"leaf.pem", "intermediate.pem"};
    o.client_key = "leaf.key";
    const Scenario s = with_connect_options(default_like(), o);
    EXPECT_EQ(s.auth_mode, "mutual");
    ASSERT_EQ(s.client_chain.size(), 2u);
    EXPECT_EQ(s.client_chain[0], fs::absolute("leaf.pem"));
    EXPECT_EQ(s.client_chain[1], fs::absolute("intermediate.pem"));
    EXPECT_EQ(s.client_key, fs::absolute("leaf.key"));
    // The suites stay the scenario's: a certificate changes no suite.
    EXPECT_EQ(s.mbedtls_ciphersuites, default_like().mbedtls_ciphersuites);
}

TEST(ConnectOptions, ExchangeGoesToTheRecorderAsHexAndRule) {
    ConnectOptions o;
    o.request = "GET /\\r\\n\\x00";
    o.read_until = "quiet:300";
    EXPECT_EQ(external_exchange_arguments(o),
              (std::vector<std::string>{"--short-answer-ok", "--request-hex", "474554202f0d0a00",
                                        "--read-until", "quiet:300"}));
    EXPECT_EQ(o.summary(), "--request (8 bytes) --read-until quiet:300");
    EXPECT_FALSE(o.changes_handshake());
    EXPECT_TRUE(o.any());
}

TEST(ConnectOptions, ProblemsAreOneLineAndNeedConnect) {
    ConnectOptions o;
    EXPECT_EQ(connect_options_problem(o, false), "");
    EXPECT_EQ(connect_options_problem(o, true), "");
    o.read_until = "close";
    EXPECT_NE(connect_options_problem(o, false).find("need --connect"), std::string::npos);
    EXPECT_EQ(connect_options_problem(o, true), "");
    o.psk_hex = "00";
    o.psk_identity = "d";
    o.client_cert = {"c.pem"};
    o.client_key = "k.pem";
    EXPECT_EQ(connect_options_problem(o, true),
              "--psk and --client-cert: one or the other (tlsheap's PSK handshakes send no "
              "certificate)");
    ConnectOptions long_key;
    long_key.psk_hex = std::string(2 * 257, 'a');
    long_key.psk_identity = "d";
    EXPECT_EQ(connect_options_problem(long_key, true),
              "--psk takes the key in hex digits, two a byte, at most 256 bytes");
}

} // namespace
} // namespace tlsheap::record
