// A program's version line is kept under its resolved path, size and
// modification time: a kept answer is used without starting the program, a
// changed program is asked again, and a kept file that is not a version line
// is no file.
#include "variants/program_version.h"

#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace tlsheap::build {
namespace {

namespace fs = std::filesystem;

class ProgramVersion : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("tlsheap-program-version-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        cache_ = dir_ / "cache";
    }
    void TearDown() override { fs::remove_all(dir_); }

    // A program that answers `line` and counts its runs in <name>.runs.
    fs::path program(const std::string& name, const std::string& line) {
        const fs::path path = dir_ / name;
        std::ofstream(path, std::ios::trunc) << "#!/bin/sh\necho run >> '" << path.string()
                                             << ".runs'\necho '" << line << "'\necho second line\n";
        fs::permissions(path, fs::perms::owner_all);
        return path;
    }
    int runs(const fs::path& program) const {
        std::ifstream in(program.string() + ".runs");
        int n = 0;
        for (std::string l; std::getline(in, l);) {
            ++n;
        }
        return n;
    }

    fs::path dir_, cache_;
};

TEST_F(ProgramVersion, FirstLineKeptAndReused) {
    const fs::path p = program("cc-a", "cc-a 1.0");
    EXPECT_EQ(program_version_line(p.string(), cache_), "cc-a 1.0");
    EXPECT_EQ(program_version_line(p.string(), cache_), "cc-a 1.0");
    EXPECT_EQ(runs(p), 1);
    const auto kept = program_version_cache_file(p.string(), cache_);
    ASSERT_TRUE(kept.has_value());
    std::ifstream in(*kept);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "cc-a 1.0");
}

// What another process kept is used as it is: the program does not run.
TEST_F(ProgramVersion, KeptAnswerIsUsedWithoutRunning) {
    const fs::path p = program("cc-b", "cc-b 1.0");
    const auto kept = program_version_cache_file(p.string(), cache_);
    ASSERT_TRUE(kept.has_value());
    fs::create_directories(kept->parent_path());
    std::ofstream(*kept) << "planted 9.9";
    EXPECT_EQ(program_version_line(p.string(), cache_), "planted 9.9");
    EXPECT_EQ(runs(p), 0);
}

TEST_F(ProgramVersion, ChangedProgramIsAskedAgain) {
    const fs::path p = program("cc-c", "cc-c 1.0");
    EXPECT_EQ(program_version_line(p.string(), cache_), "cc-c 1.0");
    program("cc-c", "cc-c 2.0.1");
    EXPECT_EQ(program_version_line(p.string(), cache_), "cc-c 2.0.1");
    EXPECT_EQ(runs(p), 2);
}

TEST_F(ProgramVersion, CorruptKeptAnswerIsAskedAgain) {
    int expected_runs = 0;
    for (const std::string& bad : {std::string(), std::string("two\nlines"),
                                   std::string("nul\0byte", 8), std::string(5000, 'x')}) {
        // A program of its own each time: the answer is also kept per process.
        const std::string name = "cc-d" + std::to_string(expected_runs);
        const fs::path p = program(name, name + " 1.0");
        const auto kept = program_version_cache_file(p.string(), cache_);
        ASSERT_TRUE(kept.has_value());
        fs::create_directories(kept->parent_path());
        std::ofstream(*kept, std::ios::binary) << bad;
        EXPECT_EQ(program_version_line(p.string(), cache_), name + " 1.0");
        EXPECT_EQ(runs(p), 1);
        ++expected_runs;
    }
}

TEST_F(ProgramVersion, MissingOrFailingProgramHasNone) {
    EXPECT_FALSE(program_version_line((dir_ / "no-such-cc").string(), cache_));
    EXPECT_FALSE(program_version_line("tlsheap-no-such-program-on-path", cache_));
    const fs::path failing = dir_ / "failing";
    std::ofstream(failing) << "#!/bin/sh\nexit 3\n";
    fs::permissions(failing, fs::perms::owner_all);
    EXPECT_FALSE(program_version_line(failing.string(), cache_));
}

} // namespace
} // namespace tlsheap::build
