// Starting and stopping the programs tlsheap drives: compilers, the recorder,
// peers. Every child gets its own process group and dies with tlsheap
// (PR_SET_PDEATHSIG); the destructor stops and reaps whatever still runs, so
// no server is ever left behind.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace tlsheap::process {

class ProcessError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct LaunchOptions {
    std::vector<std::string> argv;
    std::string working_directory; // empty: inherit
    // Where output goes: empty means a pipe the parent drains (read with
    // stdout_text()/stderr_text()); otherwise a file path.
    std::string stdout_file;
    std::string stderr_file;
    // A file the child reads as standard input (empty: /dev/null).
    std::string stdin_file;
    // The parent's standard input, output and error, as a shell runs a
    // program (`tlsheap record` runs the user's): the two above are ignored.
    bool inherit_stdio = false;
    // Variables set (or, with an empty value, removed) in the child.
    std::vector<std::pair<std::string, std::string>> environment;
};

class ChildProcess {
  public:
    // Throws ProcessError (one line) when the program cannot be started.
    explicit ChildProcess(const LaunchOptions& options);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    const std::string& program() const { return program_; }

    // Reads standard output until a line satisfies `match` (returned), or
    // the child exits / the timeout passes (nullopt).
    std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& match,
                                             std::chrono::milliseconds timeout);

    // Waits up to `timeout` for the child to exit; returns its status
    // (exit code, or 128 + signal) or nullopt if it is still running.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    // Non-blocking.
    std::optional<int> poll_exit();

    // SIGTERM to the process group, SIGKILL after `grace`; reaps.
    int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

    bool running() const { return !status_.has_value(); }
    std::optional<int> exit_status() const { return status_; }
    bool killed_by_signal() const { return signaled_; }

    const std::string& stdout_text() const { return out_; }
    const std::string& stderr_text() const { return err_; }
    // The last non-empty line the child wrote to stderr (its error message).
    std::string last_error_line() const;

  private:
    void drain(int timeout_ms);
    bool reap(bool block);

    pid_t pid_ = -1;
    std::string program_;
    int out_fd_ = -1;
    int err_fd_ = -1;
    int pid_fd_ = -1; // pidfd of the child until it is reaped, -1 without
    std::string out_;
    std::string err_;
    std::size_t out_scanned_ = 0;
    std::optional<int> status_;
    bool signaled_ = false;
};

struct CommandResult {
    int status = 0;
    bool timed_out = false;
    std::string out;
    std::string err;
};

// Runs a command to completion (killing it at the timeout).
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::string& working_directory = {},
                          const std::vector<std::pair<std::string, std::string>>& environment = {});

} // namespace tlsheap::process
