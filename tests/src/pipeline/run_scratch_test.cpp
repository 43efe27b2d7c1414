#include "pipeline/run_scratch.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace tlsheap::pipeline {
namespace {

namespace fs = std::filesystem;

class RunScratchTest : public ::testing::Test {
  protected:
    void SetUp() override {
        runs_ = fs::temp_directory_path() / ("tlsheap-runs-" + std::to_string(::getpid()));
        fs::remove_all(runs_);
        fs::create_directories(runs_);
    }
    void TearDown() override { fs::remove_all(runs_); }
    fs::path make_dir(const std::string& name) {
        fs::create_directories(runs_ / name);
        std::ofstream(runs_ / name / "trace.raw") << "x";
        return runs_ / name;
    }
    fs::path runs_;
};

TEST_F(RunScratchTest, HeldWhileAliveAndGoneAfter) {
    {
        const RunScratch scratch(runs_, "s-host-1-1");
        EXPECT_TRUE(fs::is_directory(scratch.path()));
        EXPECT_TRUE(fs::exists(runs_ / "s-host-1-1.lock"));
        EXPECT_EQ(remove_abandoned_scratch(runs_), 0u);
        EXPECT_TRUE(fs::is_directory(scratch.path()));
    }
    EXPECT_TRUE(fs::is_empty(runs_));
}

TEST_F(RunScratchTest, RemovesOnlyWhatNoLiveRunHolds) {
    const fs::path free_lock = make_dir("a-host-7-1");
    std::ofstream(free_lock.string() + ".lock").close();
    const fs::path held = make_dir("a-host-7-2");
    const build::FileLock holder(held.string() + ".lock");
    // Before the locks: the pid in the name says whether its run lives.
    const fs::path dead = make_dir("tls12-x-host-999999999-3");
    const fs::path alive = make_dir("tls12-x-host-" + std::to_string(::getpid()) + "-4");
    const fs::path other = make_dir("notes");

    EXPECT_EQ(remove_abandoned_scratch(runs_), 2u);
    EXPECT_FALSE(fs::exists(free_lock));
    EXPECT_FALSE(fs::exists(free_lock.string() + ".lock"));
    EXPECT_FALSE(fs::exists(dead));
    EXPECT_TRUE(fs::exists(held / "trace.raw"));
    EXPECT_TRUE(fs::exists(alive / "trace.raw"));
    EXPECT_TRUE(fs::exists(other / "trace.raw"));
}

TEST_F(RunScratchTest, MissingRunsDirectoryIsNothingToClean) {
    EXPECT_EQ(remove_abandoned_scratch(runs_ / "none"), 0u);
}

} // namespace
} // namespace tlsheap::pipeline
