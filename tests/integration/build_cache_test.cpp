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
    EXPECT_EQ(a["recorder_key"], b["recorder_key"]);
    EXPECT_EQ(a["recorder"], b["recorder"]);
    // One name for one hash: "variant" is the library's key wherever it is
    // shown (progress, report, JSON), the recorder's key is the recorder's.
    const std::string key = a["key"].get<std::string>();
    const std::string recorder_key = a["recorder_key"].get<std::string>();
    EXPECT_NE(key, recorder_key);
    EXPECT_NE(second.err.find("variant " + key.substr(0, 12) + " (" + a["abi"].get<std::string>() +
                              ") is cached: nothing to compile"),
              std::string::npos)
        << second.err;
    EXPECT_NE(second.out.find("(variant " + key.substr(0, 12) + ", recorder " +
                              recorder_key.substr(0, 12) + ")"),
              std::string::npos)
        << second.out;
    EXPECT_NE(a["recorder"].get<std::string>().find("rec-" + recorder_key.substr(0, 20)),
              std::string::npos);

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
