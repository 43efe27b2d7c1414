#include "variants/build_error.h"
#include "variants/config_editor.h"

#include <gtest/gtest.h>

namespace tlsheap::build {
namespace {

const std::string kConfig2x = "#ifndef MBEDTLS_CONFIG_H\n"
                              "#define MBEDTLS_CONFIG_H\n"
                              "#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE\n"
                              "//#define MBEDTLS_SSL_IN_CONTENT_LEN 16384\n"
                              "#define MBEDTLS_SSL_OUT_CONTENT_LEN   16384 /**< comment */\n"
                              "#if defined(MBEDTLS_USER_CONFIG_FILE)\n"
                              "#include MBEDTLS_USER_CONFIG_FILE\n"
                              "#endif\n"
                              "#include \"mbedtls/check_config.h\"\n"
                              "#endif /* MBEDTLS_CONFIG_H */\n";

TEST(ConfigEditor, SetRevivesACommentedOption) {
    const auto out =
        apply_config_deltas(kConfig2x, {ConfigDelta::parse_set("MBEDTLS_SSL_IN_CONTENT_LEN=4096")});
    EXPECT_NE(out.find("\n#define MBEDTLS_SSL_IN_CONTENT_LEN 4096\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("//#define MBEDTLS_SSL_IN_CONTENT_LEN"), std::string::npos);
}

TEST(ConfigEditor, SetReplacesAnActiveValue) {
    const auto out = apply_config_deltas(
        kConfig2x, {ConfigDelta::parse_set("MBEDTLS_SSL_OUT_CONTENT_LEN=2048")});
    EXPECT_NE(out.find("\n#define MBEDTLS_SSL_OUT_CONTENT_LEN 2048\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("16384 /**<"), std::string::npos);
}

TEST(ConfigEditor, UnsetCommentsTheDefinitionOut) {
    const auto out = apply_config_deltas(
        kConfig2x, {ConfigDelta::parse_unset("MBEDTLS_SSL_KEEP_PEER_CERTIFICATE")});
    EXPECT_FALSE(config_defines(out, "MBEDTLS_SSL_KEEP_PEER_CERTIFICATE"));
    EXPECT_NE(out.find("//#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE"), std::string::npos);
}

TEST(ConfigEditor, NewOptionsGoBeforeTheUserConfigAndCheckConfigTail) {
    const auto out =
        apply_config_deltas(kConfig2x, {ConfigDelta::parse_set("MBEDTLS_PLATFORM_MEMORY")});
    const auto added = out.find("#define MBEDTLS_PLATFORM_MEMORY\n");
    ASSERT_NE(added, std::string::npos);
    EXPECT_LT(added, out.find("#if defined(MBEDTLS_USER_CONFIG_FILE)"));
    EXPECT_LT(added, out.find("check_config.h"));
}

// A value is one line of a #define: a newline (or any control character, or
// a trailing backslash that continues the line) would add directives of its
// own to the generated header, such as an #include of any file.
TEST(ConfigEditor, ValuesThatWouldAddLinesToTheHeaderAreRefused) {
    for (const std::string& text :
         {std::string("X=1\n#include \"/etc/hostname\""), std::string("X=1\r#error"),
          std::string("X=1\\"), std::string("X=1\\\n#include <a>"), std::string("X=1\t2\v"),
          std::string("X=1\0#include", 12), std::string("X=\x7f")}) {
        EXPECT_THROW(ConfigDelta::parse_set(text), BuildError) << text;
    }
    EXPECT_EQ(ConfigDelta::parse_set("X=(1 << 4) /* ok */").value, "(1 << 4) /* ok */");
    EXPECT_EQ(ConfigDelta::parse_set("X=\"a\\\\b\" 2").value, "\"a\\\\b\" 2");
}

TEST(ConfigEditor, NamesMustBeIdentifiers) {
    for (const std::string& name : {std::string("X\n#include <a>"), std::string("X Y"),
                                    std::string(""), std::string("X\0Y", 3), std::string("X(a)")}) {
        EXPECT_THROW(ConfigDelta::parse_set(name), BuildError) << name;
        EXPECT_THROW(ConfigDelta::parse_unset(name), BuildError) << name;
    }
}

TEST(ConfigEditor, NewOptionsGoBeforeTheIncludeGuardEnd) {
    const std::string guarded = "#ifndef X_H\n#define X_H\n#define A\n#endif /* X_H */\n";
    const auto out = apply_config_deltas(guarded, {ConfigDelta::parse_set("B=1")});
    EXPECT_LT(out.find("#define B 1"), out.find("#endif /* X_H */"));
}

TEST(ConfigEditor, NewOptionsAreAppendedToAnUnguardedConfig) {
    const std::string plain = "#define A\n/* last comment */\n";
    const auto out = apply_config_deltas(plain, {ConfigDelta::parse_set("B")});
    EXPECT_GT(out.find("#define B"), out.find("last comment"));
}

TEST(ConfigEditor, LaterDeltasWin) {
    const auto out = apply_config_deltas("#define A\n", {ConfigDelta::parse_set("N=1"),
                                                         ConfigDelta::parse_set("N=2"),
                                                         ConfigDelta::parse_unset("A")});
    EXPECT_EQ(out.find("#define N 1"), std::string::npos);
    EXPECT_NE(out.find("#define N 2"), std::string::npos);
    EXPECT_FALSE(config_defines(out, "A"));
}

TEST(ConfigDelta, RejectsMalformedExpressions) {
    EXPECT_THROW(ConfigDelta::parse_set("1BAD"), BuildError);
    EXPECT_THROW(ConfigDelta::parse_set("A="), BuildError);
    EXPECT_THROW(ConfigDelta::parse_set("A B"), BuildError);
    EXPECT_THROW(ConfigDelta::parse_unset("A=1"), BuildError);
    EXPECT_EQ(ConfigDelta::parse_set("A=x=y").value, "x=y");
}

} // namespace
} // namespace tlsheap::build
