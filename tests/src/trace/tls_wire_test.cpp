// The TLS facts the recorder and the host share.
#include "tlsheap/tls_wire.h"

#include <gtest/gtest.h>

namespace tlsheap::tls {
namespace {

TEST(MaxFragmentLength, TheLargestLengthThatFitsTheBuffer) {
    EXPECT_EQ(max_fragment_length_for(16384), 0u); // a full buffer asks for nothing
    EXPECT_EQ(max_fragment_length_for(16383), 4096u);
    EXPECT_EQ(max_fragment_length_for(4096), 4096u);
    EXPECT_EQ(max_fragment_length_for(4095), 2048u);
    EXPECT_EQ(max_fragment_length_for(1826), 1024u);
    EXPECT_EQ(max_fragment_length_for(512), 512u);
    EXPECT_EQ(max_fragment_length_for(100), 512u); // the smallest there is
}

TEST(Side, NamesRoundTrip) {
    EXPECT_STREQ(side_name(Side::Client), "client");
    EXPECT_STREQ(side_name(Side::Server), "server");
    EXPECT_EQ(side_from_name("client"), Side::Client);
    EXPECT_EQ(side_from_name("server"), Side::Server);
    EXPECT_EQ(side_from_name("Server"), std::nullopt);
    EXPECT_EQ(side_from_name(""), std::nullopt);
}

TEST(Side, AServerReceivesTheClientsCertificate) {
    EXPECT_STREQ(peer_certificate_state(Side::Server), "CLIENT_CERTIFICATE");
    EXPECT_STREQ(peer_certificate_state(Side::Client), "SERVER_CERTIFICATE");
}

} // namespace
} // namespace tlsheap::tls
