// The build cache: a second profile of an unchanged variant compiles nothing.
#include "tlsheap_harness.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;

TEST(BuildCache, SecondProfileOfAnUnchangedVariantCompilesNothing) {
    const fs::path cache = fresh_cache("build-cache");
    const fs::path dir = cache / "out";
    fs::create_directories(dir);
    const std::vector<std::string> args = {"profile", "--scenario", "tls12-psk-aes128-ccm", "--set",
                                           "MBEDTLS_SSL_OUT_CONTENT_LEN=2048"};
    auto with_json = [&](const std::string& name) {
        auto a = args;
        a.insert(a.end(), {"--json", (dir / name).string()});
        return a;
    };
    const RunResult first = run_tlsheap(with_json("first.json"), cache);
    ASSERT_EQ(first.status, 0) << first.err;
    const RunResult second = run_tlsheap(with_json("second.json"), cache);
    ASSERT_EQ(second.status, 0) << second.err;
    const auto a = read_json(dir / "first.json")["variant"];
    const auto b = read_json(dir / "second.json")["variant"];
    EXPECT_GT(a["build"]["compiled_files"].get<int>(),
              100); // every library source, then the recorder
    EXPECT_FALSE(a["build"]["cached"]);
    EXPECT_EQ(b["build"]["compiled_files"], 0);
    EXPECT_TRUE(b["build"]["cached"]);
    EXPECT_EQ(a["key"], b["key"]);
    EXPECT_EQ(a["recorder"], b["recorder"]);
    EXPECT_NE(second.err.find("is cached: nothing to compile"), std::string::npos);

    // A different delta is a different variant.
    auto other = args;
    other.back() = "MBEDTLS_SSL_OUT_CONTENT_LEN=4096";
    other.insert(other.end(), {"--json", (dir / "third.json").string()});
    const RunResult third = run_tlsheap(other, cache);
    ASSERT_EQ(third.status, 0) << third.err;
    EXPECT_NE(read_json(dir / "third.json")["variant"]["key"], a["key"]);
    fs::remove_all(cache);
}

} // namespace
} // namespace tlsheap::testing
