#include "variants/mbedtls_tree.h"

#include <gtest/gtest.h>

namespace tlsheap::build {
namespace {

TEST(ParseSslStates, ReadsTheEnumeratorsInOrder) {
    const std::string header = "typedef enum { MBEDTLS_SSL_IS_CLIENT } other;\n"
                               "typedef enum {\n"
                               "    MBEDTLS_SSL_HELLO_REQUEST,\n"
                               "    MBEDTLS_SSL_CLIENT_HELLO,\n"
                               "    MBEDTLS_SSL_HANDSHAKE_OVER,\n"
                               "}\n"
                               "mbedtls_ssl_states;\n";
    const auto states = parse_ssl_states(header);
    ASSERT_EQ(states.size(), 3u);
    EXPECT_EQ(states[0], "MBEDTLS_SSL_HELLO_REQUEST");
    EXPECT_EQ(states[2], "MBEDTLS_SSL_HANDSHAKE_OVER");
}

TEST(ParseSslStates, NoEnumNoStates) {
    EXPECT_TRUE(parse_ssl_states("int x;").empty());
}

} // namespace
} // namespace tlsheap::build
