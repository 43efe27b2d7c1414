#include "variants/build_error.h"
#include "variants/file_lock.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

namespace tlsheap::build {
namespace {

namespace fs = std::filesystem;

class FileLockTest : public ::testing::Test {
  protected:
    void SetUp() override {
        lock_ = fs::temp_directory_path() / ("tlsheap-lock-" + std::to_string(::getpid()));
    }
    void TearDown() override { fs::remove(lock_); }
    fs::path lock_;
};

TEST_F(FileLockTest, TryLockFailsWhileHeldAndSucceedsAfter) {
    {
        const FileLock held(lock_);
        EXPECT_FALSE(FileLock::try_lock(lock_));
    }
    EXPECT_TRUE(FileLock::try_lock(lock_));
    EXPECT_FALSE(FileLock::try_lock(lock_.string() + ".missing", false));
}

TEST_F(FileLockTest, WaitingNamesTheHolderOnceAndGivesUp) {
    FileLock held(lock_);
    held.record_holder();
    const std::string holder = "pid " + std::to_string(::getpid());
    EXPECT_EQ(lock_holder(lock_), holder);
    std::vector<std::string> said;
    try {
        FileLock::wait_for(lock_, std::chrono::milliseconds(300), std::chrono::milliseconds(0),
                           [&](const std::string& m) { said.push_back(m); });
        FAIL() << "took a held lock";
    } catch (const BuildError& e) {
        EXPECT_NE(
            std::string(e.what()).find("waiting for " + lock_.string() + ", held by " + holder),
            std::string::npos)
            << e.what();
    }
    ASSERT_EQ(said.size(), 1u);
    EXPECT_EQ(said.front(), "waiting for " + lock_.string() + ", held by " + holder);
}

TEST_F(FileLockTest, WaitTakesAFreeLockAtOnce) {
    std::vector<std::string> said;
    const FileLock taken =
        FileLock::wait_for(lock_, std::chrono::milliseconds(0), std::chrono::milliseconds(0),
                           [&](const std::string& m) { said.push_back(m); });
    EXPECT_TRUE(said.empty());
    EXPECT_FALSE(FileLock::try_lock(lock_));
}

} // namespace
} // namespace tlsheap::build
