// ChildProcess and run_command with real programs (/bin/sh): exit codes,
// output capture, timeouts, programs that do not exist, and no process left
// behind after a stop, a timeout or the destructor.
#include "process/child_process.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <vector>

namespace tlsheap::process {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Waits count the time left in whole milliseconds (rounded down), so they
// may return up to a millisecond before their timeout.
constexpr auto kTimerSlack = 1ms;

// A process that exists and is not a zombie (a zombie has ended; whoever
// adopted it may reap it late).
bool alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) {
        return false;
    }
    const auto paren = text.rfind(')');
    return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'Z';
}

// True once none of `pids` is alive, waiting up to two seconds for signals
// to be delivered.
bool all_gone(const std::vector<pid_t>& pids) {
    for (int i = 0; i < 200; ++i) {
        if (std::none_of(pids.begin(), pids.end(), alive)) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

// Runs `script` and returns the pid its first output line names (a
// background job the script started).
pid_t first_line_pid(ChildProcess& child) {
    const auto line = child.wait_for_line([](const std::string&) { return true; }, 10s);
    EXPECT_TRUE(line.has_value());
    return line ? static_cast<pid_t>(std::stol(*line)) : 0;
}

LaunchOptions shell(const std::string& script) {
    LaunchOptions o;
    o.argv = {"/bin/sh", "-c", script};
    return o;
}

TEST(ChildProcess, WaitReturnsTheExitCodeAndCapturesBothStreams) {
    ChildProcess child(shell("echo out-line; echo err-line >&2; exit 3"));
    EXPECT_GT(child.pid(), 0);
    EXPECT_EQ(child.program(), "/bin/sh");
    const auto status = child.wait(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 3);
    EXPECT_FALSE(child.running());
    EXPECT_FALSE(child.killed_by_signal());
    EXPECT_EQ(child.exit_status(), std::optional<int>(3));
    EXPECT_EQ(child.stdout_text(), "out-line\n");
    EXPECT_EQ(child.stderr_text(), "err-line\n");
}

TEST(ChildProcess, CapturesOutputLargerThanAPipeBuffer) {
    // 200000 bytes: more than the 64 KiB a pipe holds, so the child blocks
    // unless the parent drains while waiting.
    ChildProcess child(shell("head -c 200000 /dev/zero | tr '\\0' x"));
    ASSERT_EQ(child.wait(20s), std::optional<int>(0));
    EXPECT_EQ(child.stdout_text(), std::string(200000, 'x'));
}

TEST(ChildProcess, LastErrorLineSkipsTrailingBlankLines) {
    ChildProcess child(shell("printf 'first\\nthe error\\n\\n\\r\\n' >&2; exit 1"));
    ASSERT_EQ(child.wait(10s), std::optional<int>(1));
    EXPECT_EQ(child.last_error_line(), "the error");
    ChildProcess quiet(shell("exit 0"));
    ASSERT_EQ(quiet.wait(10s), std::optional<int>(0));
    EXPECT_EQ(quiet.last_error_line(), "");
}

TEST(ChildProcess, WaitForLineReturnsTheMatchingLine) {
    ChildProcess child(shell("echo starting; echo 'listening on 4433'; sleep 30"));
    const auto line =
        child.wait_for_line([](const std::string& l) { return l.rfind("listening", 0) == 0; }, 10s);
    EXPECT_EQ(line, std::optional<std::string>("listening on 4433"));
    EXPECT_TRUE(child.running());
    // A line that never comes: nullopt at the timeout, the child still running.
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(child.wait_for_line([](const std::string& l) { return l == "never"; }, 200ms),
              std::nullopt);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms - kTimerSlack);
    EXPECT_TRUE(child.running());
    child.stop(2s);
}

TEST(ChildProcess, WaitForLineStopsWhenTheChildExits) {
    ChildProcess child(shell("echo only; exit 0"));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(child.wait_for_line([](const std::string& l) { return l == "never"; }, 30s),
              std::nullopt);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

TEST(ChildProcess, WaitTimesOutOnAChildThatHangs) {
    ChildProcess child(shell("sleep 30 & echo $!; wait"));
    const pid_t sleeper = first_line_pid(child);
    ASSERT_TRUE(alive(sleeper));
    EXPECT_EQ(child.wait(100ms), std::nullopt);
    EXPECT_TRUE(child.running());
    EXPECT_EQ(child.poll_exit(), std::nullopt);
    const pid_t pid = child.pid();
    // SIGTERM ends sh and its sleep (the whole group): 128 + 15.
    EXPECT_EQ(child.stop(2s), 128 + SIGTERM);
    EXPECT_TRUE(child.killed_by_signal());
    EXPECT_FALSE(child.running());
    EXPECT_TRUE(all_gone({pid, sleeper}));
}

TEST(ChildProcess, StopKillsAChildThatIgnoresSigterm) {
    // The ignored SIGTERM is inherited by the background sleep too.
    ChildProcess child(shell("trap '' TERM; sleep 30 & echo $!; wait"));
    const pid_t sleeper = first_line_pid(child);
    const pid_t pid = child.pid();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(child.stop(300ms), 128 + SIGKILL);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms - kTimerSlack);
    EXPECT_TRUE(child.killed_by_signal());
    EXPECT_TRUE(all_gone({pid, sleeper})); // the sleeping grandchild too
}

TEST(ChildProcess, DestructorLeavesNoProcessBehind) {
    pid_t pid = 0;
    pid_t grandchild = 0;
    {
        ChildProcess child(shell("sleep 30 & echo $!; wait"));
        grandchild = first_line_pid(child);
        pid = child.pid();
        ASSERT_TRUE(alive(pid));
        ASSERT_TRUE(alive(grandchild));
    }
    EXPECT_TRUE(all_gone({pid, grandchild}));
}

TEST(ChildProcess, MissingProgramIsAOneLineError) {
    LaunchOptions o;
    o.argv = {"/nonexistent/tlsheap-no-such-program", "--version"};
    try {
        ChildProcess child(o);
        FAIL() << "started a program that does not exist";
    } catch (const ProcessError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "cannot run /nonexistent/tlsheap-no-such-program: No such file or directory");
    }
    LaunchOptions none;
    EXPECT_THROW(ChildProcess{none}, ProcessError);
}

TEST(ChildProcess, MissingWorkingDirectoryIsAnError) {
    LaunchOptions o = shell("exit 0");
    o.working_directory = "/nonexistent/tlsheap-dir";
    try {
        ChildProcess child(o);
        FAIL() << "started in a directory that does not exist";
    } catch (const ProcessError& e) {
        EXPECT_EQ(std::string(e.what()), "cannot run /bin/sh: No such file or directory");
    }
}

TEST(ChildProcess, WorkingDirectoryEnvironmentAndOutputFiles) {
    const fs::path dir =
        fs::temp_directory_path() / ("tlsheap-child-process-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    ::setenv("TLSHEAP_TEST_REMOVED", "present", 1);
    LaunchOptions o =
        shell("pwd; echo \"$TLSHEAP_TEST_SET\"; echo \"[${TLSHEAP_TEST_REMOVED-unset}]\"; "
              "echo to-err >&2");
    o.working_directory = dir.string();
    o.environment = {{"TLSHEAP_TEST_SET", "value 1"}, {"TLSHEAP_TEST_REMOVED", ""}};
    o.stdout_file = (dir / "out.txt").string();
    o.stderr_file = (dir / "err.txt").string();
    {
        ChildProcess child(o);
        ASSERT_EQ(child.wait(10s), std::optional<int>(0));
        EXPECT_EQ(child.stdout_text(), ""); // went to the file
    }
    ::unsetenv("TLSHEAP_TEST_REMOVED");
    const auto read = [](const fs::path& p) {
        std::ifstream in(p);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    };
    EXPECT_EQ(read(dir / "out.txt"), fs::canonical(dir).string() + "\nvalue 1\n[unset]\n");
    EXPECT_EQ(read(dir / "err.txt"), "to-err\n");
    fs::remove_all(dir);
}

TEST(ChildProcess, UnwritableOutputFileIsAnError) {
    LaunchOptions o = shell("exit 0");
    o.stdout_file = "/nonexistent/tlsheap-dir/out.txt";
    EXPECT_THROW(ChildProcess{o}, ProcessError);
}

TEST(ChildProcess, ExitBySignalIs128PlusTheSignal) {
    ChildProcess child(shell("kill -SEGV $$"));
    ASSERT_EQ(child.wait(10s), std::optional<int>(128 + SIGSEGV));
    EXPECT_TRUE(child.killed_by_signal());
}

TEST(RunCommand, ReturnsStatusAndOutput) {
    const CommandResult r = run_command({"/bin/sh", "-c", "echo hi; echo oops >&2; exit 7"}, 10s);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.status, 7);
    EXPECT_EQ(r.out, "hi\n");
    EXPECT_EQ(r.err, "oops\n");
}

TEST(RunCommand, KillsAHangingCommandAtItsTimeout) {
    const auto start = std::chrono::steady_clock::now();
    const CommandResult r =
        run_command({"/bin/sh", "-c", "echo before; sleep 30; echo after"}, 300ms);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.status, 128 + SIGTERM);
    EXPECT_EQ(r.out, "before\n");
    EXPECT_GE(took, 300ms - kTimerSlack);
    EXPECT_LT(took, 10s); // not the 30 s the command wanted
}

TEST(RunCommand, WorkingDirectoryAndEnvironment) {
    const CommandResult r =
        run_command({"/bin/sh", "-c", "pwd; echo $TLSHEAP_X"}, 10s, "/", {{"TLSHEAP_X", "42"}});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, "/\n42\n");
}

TEST(RunCommand, MissingProgramThrows) {
    EXPECT_THROW(run_command({"tlsheap-no-such-program-on-path"}, 10s), ProcessError);
}

} // namespace
} // namespace tlsheap::process
