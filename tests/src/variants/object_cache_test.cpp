#include "variants/content_hash.h"
#include "variants/object_cache.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace tlsheap::build {
namespace {

namespace fs = std::filesystem;

class ObjectCacheTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tlsheap-object-cache-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "build");
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path write(const std::string& name, const std::string& bytes) {
        const fs::path file = dir_ / "build" / name;
        std::ofstream(file, std::ios::binary) << bytes;
        return file;
    }
    fs::path dir_;
};

const std::vector<std::string> kCommand = {"gcc", "-O2", "-DMBEDTLS_CONFIG_FILE=\"/c/lib-1/cfg.h\"",
                                           "-c", "aes.c"};
const std::string kPreprocessed = "# 1 \"/c/lib-1/cfg.h\" 1\nint aes;\n";

TEST_F(ObjectCacheTest, KeyIgnoresOnlyTheVariantDirectory) {
    const std::string key = ObjectCache::key("gcc 12", kCommand, kPreprocessed, "/c/lib-1");
    // Another variant's directory, everything else equal: the same object.
    std::vector<std::string> moved = kCommand;
    moved[2] = "-DMBEDTLS_CONFIG_FILE=\"/c/lib-2/cfg.h\"";
    EXPECT_EQ(
        key, ObjectCache::key("gcc 12", moved, "# 1 \"/c/lib-2/cfg.h\" 1\nint aes;\n", "/c/lib-2"));
    // What the compiler sees, changed anywhere: another object.
    EXPECT_NE(key, ObjectCache::key("gcc 13", kCommand, kPreprocessed, "/c/lib-1"));
    std::vector<std::string> flags = kCommand;
    flags[1] = "-O0";
    EXPECT_NE(key, ObjectCache::key("gcc 12", flags, kPreprocessed, "/c/lib-1"));
    EXPECT_NE(key, ObjectCache::key("gcc 12", kCommand, "# 1 \"/c/lib-1/cfg.h\" 1\nint aes2;\n",
                                    "/c/lib-1"));
    // The same text under another directory is not the variant's: kept.
    EXPECT_NE(key, ObjectCache::key("gcc 12", moved, kPreprocessed, "/c/lib-2"));
    EXPECT_EQ(key.size(), 32u);
}

TEST_F(ObjectCacheTest, StoredObjectIsFetchedWholeInPlaceOfAnOldFile) {
    const ObjectCache cache(dir_ / "objects");
    const std::string key = ObjectCache::key("gcc 12", kCommand, kPreprocessed, "/c/lib-1");
    EXPECT_FALSE(cache.fetch(key, dir_ / "build" / "absent.o"));
    EXPECT_FALSE(fs::exists(dir_ / "build" / "absent.o"));

    const fs::path compiled = write("aes.o", "object bytes");
    cache.store(key, compiled);
    cache.store(key, compiled); // a second tlsheap storing the same key
    const fs::path other = write("other.o", "stale bytes");
    ASSERT_TRUE(cache.fetch(key, other));
    EXPECT_EQ(read_text_file(other), "object bytes");
    // No temporary file is left beside the cached object.
    std::size_t files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir_ / "objects")) {
        files += entry.is_regular_file() ? 1 : 0;
    }
    EXPECT_EQ(files, 1u);
}

} // namespace
} // namespace tlsheap::build
