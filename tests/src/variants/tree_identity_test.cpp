// The tree's identity is kept under the list of its files' paths, sizes and
// modification times: the same list reuses it, an edit (size or time) reads
// the files again, and a kept file that is not an identity is no file.
#include "variants/tree_identity.h"

#include <chrono>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace tlsheap::build {
namespace {

namespace fs = std::filesystem;

class TreeIdentity : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("tlsheap-tree-identity-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        tree_ = dir_ / "tree";
        cache_ = dir_ / "cache";
        write("include/mbedtls/ssl.h", "#define MBEDTLS_SSL_H\n");
        write("library/ssl_tls.c", "int ssl;\n");
        write("library/bignum_core.inc", "int limbs;\n");
        write("3rdparty/everest/x.c", "int x;\n");
        write("library/notes.txt", "not a source\n");
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Written an hour ago: settled, so its identity is kept.
    void write(const std::string& name, const std::string& text,
               std::chrono::hours age = std::chrono::hours(1)) {
        fs::create_directories((tree_ / name).parent_path());
        std::ofstream(tree_ / name, std::ios::trunc) << text;
        fs::last_write_time(tree_ / name, fs::file_time_type::clock::now() - age);
    }

    fs::path kept_file() const {
        return tree_identity_cache_file(tree_, tree_files(tree_), cache_);
    }

    fs::path dir_, tree_, cache_;
};

TEST_F(TreeIdentity, ListsSourcesAndHeadersOnly) {
    const auto files = tree_files(tree_);
    ASSERT_EQ(files.size(), 4u);
    EXPECT_EQ(files[0].path, "3rdparty/everest/x.c");
    EXPECT_EQ(files[3].path, "library/ssl_tls.c");
    EXPECT_EQ(files[3].size, 9u);
}

TEST_F(TreeIdentity, KeptIdentityIsTheContentHash) {
    const std::string identity = tree_identity(tree_, {});
    EXPECT_EQ(identity.size(), 32u);
    EXPECT_EQ(tree_identity(tree_, cache_), identity); // computed and kept
    EXPECT_TRUE(fs::exists(kept_file()));
    EXPECT_EQ(tree_identity(tree_, cache_), identity); // read back
}

// Proof that the same list reads no file: what is kept is what is returned.
TEST_F(TreeIdentity, SameListReusesTheKeptIdentity) {
    tree_identity(tree_, cache_);
    const std::string planted(32, 'a');
    std::ofstream(kept_file(), std::ios::trunc) << planted;
    EXPECT_EQ(tree_identity(tree_, cache_), planted);
}

TEST_F(TreeIdentity, EditedFileChangesTheIdentity) {
    const std::string before = tree_identity(tree_, cache_);
    // Another size.
    write("library/ssl_tls.c", "int ssl_changed;\n");
    const std::string resized = tree_identity(tree_, cache_);
    EXPECT_NE(resized, before);
    EXPECT_EQ(resized, tree_identity(tree_, {}));
    // The same size, another time (a kept identity under the old list is not used).
    std::ofstream(kept_file(), std::ios::trunc) << std::string(32, 'a');
    write("library/ssl_tls.c", "int ssl_CHANGED;\n", std::chrono::hours(2));
    const std::string retimed = tree_identity(tree_, cache_);
    EXPECT_NE(retimed, resized);
    EXPECT_EQ(retimed, tree_identity(tree_, {}));
    // A new file.
    write("library/new.c", "int n;\n");
    EXPECT_NE(tree_identity(tree_, cache_), retimed);
}

TEST_F(TreeIdentity, CorruptKeptIdentityIsRecomputed) {
    const std::string identity = tree_identity(tree_, cache_);
    for (const std::string& bad : {std::string(), std::string("zz"), std::string(32, 'G'),
                                   identity + "\n", std::string(100000, 'a')}) {
        std::ofstream(kept_file(), std::ios::trunc) << bad;
        EXPECT_EQ(tree_identity(tree_, cache_), identity);
        std::ifstream in(kept_file());
        std::string kept;
        in >> kept;
        EXPECT_EQ(kept, identity);
    }
    fs::remove(kept_file());
    fs::create_directory(kept_file());
    EXPECT_EQ(tree_identity(tree_, cache_), identity);
}

// A file modified just now may change again within its timestamp tick.
TEST_F(TreeIdentity, FreshlyEditedTreeIsNotKept) {
    write("library/ssl_tls.c", "int ssl;\n", std::chrono::hours(0));
    tree_identity(tree_, cache_);
    EXPECT_FALSE(fs::exists(kept_file()));
}

} // namespace
} // namespace tlsheap::build
