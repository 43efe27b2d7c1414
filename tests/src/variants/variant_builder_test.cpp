// The build cache's keys: what changes a variant's library key (its config,
// the deltas, the real pool, the compiler, the ABI, the flags, the tree) and
// what does not (computing it again). The key of fixed inputs is pinned: a
// change to it invalidates every cached build, so it must be deliberate.
#include "variants/variant_builder.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <regex>
#include <set>
#include <vector>

namespace tlsheap::build {
namespace {

const std::string kBase = "#ifndef MBEDTLS_CONFIG_H\n"
                          "#define MBEDTLS_CONFIG_H\n"
                          "#define MBEDTLS_SSL_PROTO_TLS1_2\n"
                          "//#define MBEDTLS_SSL_IN_CONTENT_LEN 16384\n"
                          "#endif /* MBEDTLS_CONFIG_H */\n";
const std::filesystem::path kBasePath = "/home/user/project/mbedtls_config.h";

LibraryKeyInputs inputs(const std::vector<ConfigDelta>& deltas = {}, bool real_pool = false) {
    LibraryKeyInputs in;
    in.tree_identity = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    in.effective_config =
        effective_config_text(kBase, kBasePath, deltas, recorder_overlay(real_pool));
    in.compiler_identity = "gcc (Debian 12.2.0-14) 12.2.0";
    in.abi = "host";
    in.flags = {"-O2", "-g", "-D_FILE_OFFSET_BITS=64", "-fno-omit-frame-pointer"};
    return in;
}

TEST(LibraryCacheKey, IsPinnedForFixedInputs) {
    // Pinned when the key computation moved out of VariantBuilder::prepare
    // into library_cache_key, after checking that prepare() gave the same
    // keys before and after for the 3.6 and 2.28 trees (default config, --set,
    // --unset, real pool, extra flags, ilp32): cached builds stay valid.
    // Changed on purpose once since, when the effective config's note began
    // to name its base by file name instead of path (one build for the same
    // config in any checkout).
    EXPECT_EQ(library_cache_key(inputs()), "c9cf8e7a948f4cf833b460a60f700056");
    EXPECT_EQ(
        library_cache_key(inputs({ConfigDelta::parse_set("MBEDTLS_SSL_IN_CONTENT_LEN=4096")})),
        "ed56f0600953b517b7cbb9022f87fa10");
}

TEST(LibraryCacheKey, SameInputsSameKey) {
    const std::string key = library_cache_key(inputs());
    EXPECT_EQ(key.size(), 32u);
    EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(library_cache_key(inputs()), key);
    EXPECT_EQ(effective_config_text(kBase, kBasePath, {}, recorder_overlay(false)),
              inputs().effective_config);
}

TEST(LibraryCacheKey, EveryInputChangesTheKey) {
    std::set<std::string> keys = {library_cache_key(inputs())};
    const auto differs = [&](const LibraryKeyInputs& in, const char* what) {
        EXPECT_TRUE(keys.insert(library_cache_key(in)).second) << what << " left the key alone";
    };
    differs(inputs({ConfigDelta::parse_set("MBEDTLS_SSL_IN_CONTENT_LEN=4096")}), "a --set");
    differs(inputs({ConfigDelta::parse_set("MBEDTLS_SSL_IN_CONTENT_LEN=2048")}), "its value");
    differs(inputs({ConfigDelta::parse_unset("MBEDTLS_SSL_PROTO_TLS1_2")}), "an --unset");
    differs(inputs({}, true), "the real pool");
    LibraryKeyInputs in = inputs();
    in.tree_identity[0] = '1';
    differs(in, "the tree");
    in = inputs();
    in.compiler_identity = "gcc (Debian 12.2.0-14+b1) 12.2.0";
    differs(in, "the compiler");
    in = inputs();
    in.abi = "ilp32";
    differs(in, "the ABI");
    in = inputs();
    in.flags.push_back("-fsanitize=address");
    differs(in, "an extra flag");
    in = inputs();
    std::swap(in.flags[0], in.flags[1]);
    differs(in, "the flag order");
    in = inputs();
    in.effective_config += "\n";
    differs(in, "one more byte of config");
    // Pieces are length-prefixed: moving a byte between two pieces changes the key.
    in = inputs();
    in.flags = {"-O2-g", "", "-D_FILE_OFFSET_BITS=64", "-fno-omit-frame-pointer"};
    differs(in, "a byte moved between flags");
}

TEST(EffectiveConfigText, KeepsTheUserLinesAndNotesWhatWasAdded) {
    const std::string text = effective_config_text(
        kBase, kBasePath, {ConfigDelta::parse_set("MBEDTLS_SSL_IN_CONTENT_LEN=4096")},
        recorder_overlay(false));
    // The user's lines keep their numbers; the option is revived on its own line.
    EXPECT_EQ(text.rfind("#ifndef MBEDTLS_CONFIG_H\n#define MBEDTLS_CONFIG_H\n"
                         "#define MBEDTLS_SSL_PROTO_TLS1_2\n"
                         "#define MBEDTLS_SSL_IN_CONTENT_LEN 4096\n",
                         0),
              0u)
        << text;
    EXPECT_TRUE(config_defines(text, "MBEDTLS_PLATFORM_MEMORY"));
    EXPECT_FALSE(config_defines(text, "MBEDTLS_MEMORY_BUFFER_ALLOC_C"));
    EXPECT_NE(text.find(" * Base: mbedtls_config.h\n"
                        " * Deltas: --set MBEDTLS_SSL_IN_CONTENT_LEN=4096\n"
                        " * Recorder overlay: --set MBEDTLS_PLATFORM_C --set "
                        "MBEDTLS_PLATFORM_MEMORY --unset MBEDTLS_PLATFORM_CALLOC_MACRO"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.substr(text.size() - 5), "\n */\n");

    const std::string none = effective_config_text(kBase, kBasePath, {}, recorder_overlay(true));
    EXPECT_NE(none.find(" * Deltas: (none)\n"), std::string::npos) << none;
    EXPECT_TRUE(config_defines(none, "MBEDTLS_MEMORY_BUFFER_ALLOC_C"));
    EXPECT_TRUE(config_defines(none, "MBEDTLS_MEMORY_DEBUG"));
}

TEST(EffectiveConfigText, NamesNoPathSoTheSameConfigAnywhereIsOneBuild) {
    const auto d = ConfigDelta::parse_set("MBEDTLS_SSL_IN_CONTENT_LEN=4096");
    EXPECT_EQ(effective_config_text(kBase, kBasePath, {d}, recorder_overlay(false)),
              effective_config_text(kBase, "/builds/ci-runner-7/checkout/mbedtls_config.h", {d},
                                    recorder_overlay(false)));
}

TEST(EffectiveConfigText, DeltaOrderIsPartOfTheKey) {
    // Two deltas on different options give the same config.h lines in
    // either order, but the note records the order given: `--set A --set B`
    // and `--set B --set A` are two cache entries (one build each).
    const auto a = ConfigDelta::parse_set("MBEDTLS_SSL_IN_CONTENT_LEN=4096");
    const auto b = ConfigDelta::parse_set("MBEDTLS_SSL_OUT_CONTENT_LEN=2048");
    const std::string ab = effective_config_text(kBase, kBasePath, {a, b}, {});
    const std::string ba = effective_config_text(kBase, kBasePath, {b, a}, {});
    const auto body = [](const std::string& t) { return t.substr(0, t.find("/* Effective")); };
    EXPECT_EQ(body(ab), body(ba));
    EXPECT_NE(ab, ba);
    EXPECT_NE(library_cache_key(inputs({a, b})), library_cache_key(inputs({b, a})));
}

TEST(RecorderOverlay, RoutesAllocationThroughFunctionsAndAddsTheRealPool) {
    std::vector<std::string> plain;
    for (const ConfigDelta& d : recorder_overlay(false)) {
        plain.push_back(d.to_string());
    }
    EXPECT_EQ(plain,
              (std::vector<std::string>{
                  "--set MBEDTLS_PLATFORM_C", "--set MBEDTLS_PLATFORM_MEMORY",
                  "--unset MBEDTLS_PLATFORM_CALLOC_MACRO", "--unset MBEDTLS_PLATFORM_FREE_MACRO",
                  "--unset MBEDTLS_PLATFORM_STD_CALLOC", "--unset MBEDTLS_PLATFORM_STD_FREE"}));
    const auto real = recorder_overlay(true);
    ASSERT_EQ(real.size(), plain.size() + 2);
    EXPECT_EQ(real[plain.size()].to_string(), "--set MBEDTLS_MEMORY_BUFFER_ALLOC_C");
    EXPECT_EQ(real[plain.size() + 1].to_string(), "--set MBEDTLS_MEMORY_DEBUG");
}

TEST(CodeGenerationFlags, ToolchainFlagsThenExtras) {
    Toolchain t;
    t.codegen_flags = {"-fno-omit-frame-pointer"};
    EXPECT_EQ(code_generation_flags(t, {}),
              (std::vector<std::string>{"-O2", "-g", "-D_FILE_OFFSET_BITS=64",
                                        "-fno-omit-frame-pointer"}));
    EXPECT_EQ(code_generation_flags(t, {"-fsanitize=address"}).back(), "-fsanitize=address");
}

TEST(RecorderSources, SharedHeadersAreEveryHeaderOfIncludeTheRecorderIncludes) {
    // The list is the recorder's cache key and what an installation ships
    // beside its sources: a header missing from it would neither rebuild the
    // recorder when it changes nor be installed.
    const std::set<std::string> listed(std::begin(kRecorderSharedHeaders),
                                       std::end(kRecorderSharedHeaders));
    std::set<std::string> included;
    const std::regex include(R"re(#include\s+"tlsheap/([^"]+)")re");
    const std::filesystem::path root = TLSHEAP_SOURCE_DIR;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(root / "src" / "recorder")) {
        files.push_back(entry.path());
    }
    for (const std::string& header : listed) { // and what they include in turn
        files.push_back(root / "include" / "tlsheap" / header);
    }
    for (const std::filesystem::path& file : files) {
        std::ifstream in(file);
        const std::string text((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
        for (std::sregex_iterator m(text.begin(), text.end(), include), end; m != end; ++m) {
            included.insert((*m)[1]);
        }
    }
    EXPECT_EQ(included, listed);
}

} // namespace
} // namespace tlsheap::build
