// The parts of effective_config that need no compiler: the macro set the
// cache stores beside each variant (its text must not depend on the order
// macros were found in), and the short error excerpt of compiler output.
#include "variants/effective_config.h"

#include <gtest/gtest.h>

namespace tlsheap::build {
namespace {

TEST(MacroSet, SerializesSortedByNameWhateverTheInsertionOrder) {
    std::map<std::string, std::string> forward;
    forward["MBEDTLS_SSL_IN_CONTENT_LEN"] = "16384";
    forward["MBEDTLS_AES_C"] = "";
    std::map<std::string, std::string> backward;
    backward["MBEDTLS_AES_C"] = "";
    backward["MBEDTLS_SSL_IN_CONTENT_LEN"] = "16384";
    const MacroSet a(forward);
    EXPECT_EQ(a.serialize(), "MBEDTLS_AES_C\nMBEDTLS_SSL_IN_CONTENT_LEN 16384\n");
    EXPECT_EQ(MacroSet(backward).serialize(), a.serialize());
}

TEST(MacroSet, RoundTripsThroughItsText) {
    const MacroSet a({{"MBEDTLS_AES_C", ""},
                      {"MBEDTLS_SSL_CIPHERSUITES", "MBEDTLS_TLS_A, MBEDTLS_TLS_B"},
                      {"PSA_WANT_ALG_SHA_256", "1"}});
    const MacroSet b = MacroSet::deserialize(a.serialize());
    EXPECT_EQ(b.all(), a.all());
    EXPECT_TRUE(b.defines("MBEDTLS_AES_C"));
    EXPECT_EQ(b.value("MBEDTLS_AES_C"), std::optional<std::string>(""));
    EXPECT_EQ(b.value("MBEDTLS_SSL_CIPHERSUITES"),
              std::optional<std::string>("MBEDTLS_TLS_A, MBEDTLS_TLS_B"));
    EXPECT_EQ(b.value("MBEDTLS_GCM_C"), std::nullopt);
    EXPECT_FALSE(b.defines("MBEDTLS_GCM_C"));
    // Blank lines are skipped.
    EXPECT_EQ(MacroSet::deserialize("\nA 1\n\nB\n").all(),
              (std::map<std::string, std::string>{{"A", "1"}, {"B", ""}}));
}

TEST(FirstCompilerErrors, KeepsDistinctErrorLinesUpToTheLimit) {
    const std::string output = "In file included from x.c:1:\n"
                               "config.h:3:2: error: #error \"bad\"\n"
                               "note: something\n"
                               "config.h:3:2: error: #error \"bad\"\n"
                               "y.c:9: error: two\n"
                               "z.c:1: Error: three\n";
    const std::string two = first_compiler_errors(output, 2);
    EXPECT_EQ(two, "config.h:3:2: error: #error \"bad\"\ny.c:9: error: two\n");
    EXPECT_NE(first_compiler_errors(output).find("z.c:1: Error: three"), std::string::npos);
    EXPECT_EQ(first_compiler_errors(output).find("note"), std::string::npos);
}

} // namespace
} // namespace tlsheap::build
