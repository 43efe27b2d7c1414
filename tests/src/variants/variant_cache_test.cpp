// The variant cache on real trees: a variant another tlsheap holds (building
// it, or suspended while it did) is waited for, its holder named, and given
// up after TLSHEAP_LOCK_TIMEOUT seconds instead of waiting for ever; the same
// config under any path and in any cache directory is the same build (CI
// caches hit whatever the checkout path).
#include "variants/build_error.h"
#include "variants/cache_directory.h"
#include "variants/file_lock.h"
#include "variants/variant_builder.h"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>

namespace tlsheap::build {
namespace {

namespace fs = std::filesystem;

class VariantCache : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string name = (fs::temp_directory_path() / "tlsheap-variant-cache-XXXXXX").string();
        ASSERT_NE(::mkdtemp(name.data()), nullptr);
        cache_ = name;
    }
    void TearDown() override {
        ::unsetenv("TLSHEAP_LOCK_TIMEOUT");
        fs::remove_all(cache_);
    }
    fs::path cache_;
};

TEST_F(VariantCache, GivesUpOnAHeldVariantNamingItsHolder) {
    // The mbedTLS sources come from the user's cache (scripts/setup.sh);
    // the variant's build directory goes to a cache of the test's own.
    VariantSpec spec;
    spec.tree = locate_mbedtls_tree("3.6", default_cache_directory(), "scripts/fetch-mbedtls.sh");
    const VariantBuilder builder(cache_, {}, 1, {});
    const PreparedVariant prepared = builder.prepare(spec);
    const std::string lock = prepared.library_dir.string() + ".lock";
    FileLock held(lock);
    held.record_holder();

    ::setenv("TLSHEAP_LOCK_TIMEOUT", "0.5", 1);
    try {
        builder.build(prepared);
        FAIL() << "built a variant whose lock another process holds";
    } catch (const BuildError& e) {
        EXPECT_EQ(std::string(e.what()), "gave up after 0.5 s waiting for " + lock +
                                             ", held by pid " + std::to_string(::getpid()) +
                                             " (TLSHEAP_LOCK_TIMEOUT sets the wait)");
    }
    // Nothing was compiled while the lock was held.
    EXPECT_FALSE(fs::exists(prepared.library_dir / "obj"));
}

TEST_F(VariantCache, TheSameConfigUnderAnyPathAndCacheIsTheSameBuild) {
    const MbedtlsTree tree =
        locate_mbedtls_tree("3.6", default_cache_directory(), "scripts/fetch-mbedtls.sh");
    const auto prepared = [&](const fs::path& cache, const fs::path& config) {
        VariantSpec spec;
        spec.tree = tree;
        spec.deltas = {ConfigDelta::parse_set("MBEDTLS_SSL_IN_CONTENT_LEN=4096")};
        if (!config.empty()) {
            fs::create_directories(config.parent_path());
            fs::copy_file(tree.default_config, config);
            spec.config_file = config;
        }
        return VariantBuilder(cache, {}, 1, {}).prepare(spec);
    };
    const fs::path file = tree.default_config.filename();
    const PreparedVariant a = prepared(cache_ / "a", cache_ / "checkout-1" / file);
    const PreparedVariant b = prepared(cache_ / "b", cache_ / "elsewhere" / "checkout-2" / file);
    const PreparedVariant tree_default = prepared(cache_ / "c", {});
    EXPECT_EQ(a.library_key, b.library_key);
    EXPECT_EQ(a.library_key, tree_default.library_key);
    // What the recorder's key hashes besides the library key.
    EXPECT_EQ(generate_variant_info(a, "v"), generate_variant_info(b, "v"));
    EXPECT_FALSE(a.macros.defines("MBEDTLS_CONFIG_FILE"));
    EXPECT_NE(a.library_dir, b.library_dir);
}

TEST_F(VariantCache, AWaitThatIsNotANumberOfSecondsIsRefused) {
    for (const char* bad : {"abc", "-1", "1e9", "nan", "5s"}) {
        ::setenv("TLSHEAP_LOCK_TIMEOUT", bad, 1);
        try {
            lock_wait_bound(std::chrono::seconds(1));
            ADD_FAILURE() << bad << " was taken as a wait";
        } catch (const BuildError& e) {
            EXPECT_EQ(std::string(e.what()), std::string("TLSHEAP_LOCK_TIMEOUT is '") + bad +
                                                 "', not a number of seconds from 0 to 86400");
        }
    }
    ::setenv("TLSHEAP_LOCK_TIMEOUT", "2.5", 1);
    EXPECT_EQ(lock_wait_bound(std::chrono::seconds(1)), std::chrono::milliseconds(2500));
    ::unsetenv("TLSHEAP_LOCK_TIMEOUT");
    EXPECT_EQ(lock_wait_bound(std::chrono::seconds(7)), std::chrono::seconds(7));
}

} // namespace
} // namespace tlsheap::build
