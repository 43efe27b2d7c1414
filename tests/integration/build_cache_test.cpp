// The build cache: a second profile of an unchanged variant compiles nothing;
// a new variant compiles only the files whose preprocessed output its macros
// change, and its objects and recorder are those of a clean build.
#include "tlsheap_harness.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;

// One cache for the suite: its first profile builds everything once.
class BuildCache : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        cache_ = new fs::path(fresh_cache("build-cache"));
        fs::create_directories(*cache_ / "out");
        first_ = run_tlsheap(with_json(kArgs, "first.json"), *cache_);
    }
    static void TearDownTestSuite() {
        fs::remove_all(*cache_);
        delete cache_;
    }
    static std::vector<std::string> with_json(std::vector<std::string> args,
                                              const std::string& name) {
        args.insert(args.end(), {"--json", (*cache_ / "out" / name).string()});
        return args;
    }
    static nlohmann::json variant(const std::string& name) {
        return read_json(*cache_ / "out" / name)["variant"];
    }
    static inline const std::vector<std::string> kArgs = {"profile", "--scenario",
                                                          "tls12-psk-aes128-ccm", "--set",
                                                          "MBEDTLS_SSL_OUT_CONTENT_LEN=2048"};
    static inline fs::path* cache_ = nullptr;
    static inline RunResult first_;
};

TEST_F(BuildCache, SecondProfileOfAnUnchangedVariantCompilesNothing) {
    ASSERT_EQ(first_.status, 0) << first_.err;
    const fs::path cache = *cache_;
    const auto args = kArgs;
    const RunResult second = run_tlsheap(with_json(args, "second.json"), cache);
    ASSERT_EQ(second.status, 0) << second.err;
    const auto a = variant("first.json");
    const auto b = variant("second.json");
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
    const RunResult third = run_tlsheap(with_json(other, "third.json"), cache);
    ASSERT_EQ(third.status, 0) << third.err;
    const auto c = variant("third.json");
    EXPECT_NE(c["key"], a["key"]);
    // A size knob reaches a few of mbedTLS's files (those that use it or
    // ssl_misc.h's buffer lengths): the rest come from the object cache.
    EXPECT_FALSE(c["build"]["cached"]);
    EXPECT_GT(c["build"]["compiled_files"].get<int>(), 0);
    EXPECT_LT(c["build"]["compiled_files"].get<int>(), 20);
    EXPECT_EQ(c["build"]["compiled_files"].get<int>() + c["build"]["reused_objects"].get<int>(),
              a["build"]["compiled_files"].get<int>());
}

std::vector<std::string> sorted(const nlohmann::json& names) {
    std::vector<std::string> out = names.get<std::vector<std::string>>();
    std::sort(out.begin(), out.end());
    return out;
}

std::string file_bytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(BuildCache, OneMacroRecompilesTheFilesItReachesAndGivesAVariantAsBuiltClean) {
    ASSERT_EQ(first_.status, 0) << first_.err;
    const fs::path cache = *cache_;
    const int every_file = variant("first.json")["build"]["compiled_files"].get<int>();
    // MBEDTLS_ECP_WINDOW_SIZE: in mbedTLS 3.6 only library/ecp.c uses it
    // (ecp.h defines its default, config.h documents it), so the library
    // recompiles ecp.c and the recorder only its list of the config's macros.
    std::vector<std::string> window = kArgs;
    window.insert(window.end(), {"--set", "MBEDTLS_ECP_WINDOW_SIZE=3"});
    const RunResult changed = run_tlsheap(with_json(window, "changed.json"), cache);
    ASSERT_EQ(changed.status, 0) << changed.err;
    const auto built = variant("changed.json");
    const auto build = built["build"];
    EXPECT_EQ(sorted(build["compiled_sources"]),
              (std::vector<std::string>{"ecp.c", "variant_info.cpp"}));
    EXPECT_EQ(build["compiled_files"], 2);
    EXPECT_EQ(build["reused_objects"].get<int>() + 2, every_file);

    // The same variant built clean: the cached variant and the object cache
    // set aside, everything compiled again. Every object and the recorder are
    // the same bytes.
    const fs::path library =
        fs::path(built["effective_config_file"].get<std::string>()).parent_path();
    const fs::path recorder = fs::path(built["recorder"].get<std::string>()).parent_path();
    const fs::path aside = cache / "aside";
    fs::create_directories(aside);
    fs::rename(library, aside / "library");
    fs::rename(recorder, aside / "recorder");
    fs::rename(cache / "objects", aside / "objects");
    const RunResult clean = run_tlsheap(with_json(window, "clean.json"), cache);
    // The suite's other test reuses the objects: put them back.
    fs::remove_all(cache / "objects");
    fs::rename(aside / "objects", cache / "objects");
    ASSERT_EQ(clean.status, 0) << clean.err;
    const auto rebuilt = variant("clean.json");
    EXPECT_EQ(rebuilt["key"], built["key"]);
    EXPECT_EQ(rebuilt["build"]["reused_objects"], 0);
    EXPECT_EQ(rebuilt["build"]["compiled_files"].get<int>(), every_file);
    std::size_t compared = 0;
    for (const auto& [kept, fresh] :
         {std::pair{aside / "library" / "obj", library / "obj"}, {aside / "recorder", recorder}}) {
        for (const auto& entry : fs::directory_iterator(fresh)) {
            if (entry.path().extension() != ".o") {
                continue;
            }
            ++compared;
            EXPECT_TRUE(file_bytes(entry.path()) == file_bytes(kept / entry.path().filename()))
                << entry.path().filename();
        }
    }
    EXPECT_EQ(compared, static_cast<std::size_t>(every_file));
    EXPECT_TRUE(file_bytes(recorder / "tlsheap-recorder") ==
                file_bytes(aside / "recorder" / "tlsheap-recorder"));
}

} // namespace
} // namespace tlsheap::testing
