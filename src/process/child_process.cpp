#include "process/child_process.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tlsheap::process {

namespace {

using Clock = std::chrono::steady_clock;

int open_output(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

} // namespace

ChildProcess::ChildProcess(const LaunchOptions& options) {
    if (options.argv.empty()) {
        throw ProcessError("no program to run");
    }
    program_ = options.argv.front();
    int out_pipe[2] = {-1, -1};
    int err_pipe[2] = {-1, -1};
    int out_target = -1;
    int err_target = -1;
    if (options.inherit_stdio) {
        // Nothing to redirect.
    } else if (options.stdout_file.empty()) {
        if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
            throw ProcessError(std::string("pipe: ") + std::strerror(errno));
        }
        out_target = out_pipe[1];
    } else if ((out_target = open_output(options.stdout_file)) < 0) {
        throw ProcessError("cannot write " + options.stdout_file + ": " + std::strerror(errno));
    }
    if (options.inherit_stdio) {
        // Nothing to redirect.
    } else if (options.stderr_file.empty()) {
        if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
            throw ProcessError(std::string("pipe: ") + std::strerror(errno));
        }
        err_target = err_pipe[1];
    } else if ((err_target = open_output(options.stderr_file)) < 0) {
        throw ProcessError("cannot write " + options.stderr_file + ": " + std::strerror(errno));
    }
    // exec failure is reported through a close-on-exec pipe.
    int exec_pipe[2];
    if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
        throw ProcessError(std::string("pipe: ") + std::strerror(errno));
    }
    std::vector<char*> argv;
    for (const std::string& a : options.argv) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();

    pid_ = ::fork();
    if (pid_ < 0) {
        throw ProcessError(std::string("fork: ") + std::strerror(errno));
    }
    if (pid_ == 0) {
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127); // the parent died before prctl took effect
        }
        if (!options.inherit_stdio) {
            ::dup2(out_target, STDOUT_FILENO);
            ::dup2(err_target, STDERR_FILENO);
            const int in = ::open(
                options.stdin_file.empty() ? "/dev/null" : options.stdin_file.c_str(), O_RDONLY);
            if (in >= 0) {
                ::dup2(in, STDIN_FILENO);
            }
        }
        if (!options.working_directory.empty() && ::chdir(options.working_directory.c_str()) != 0) {
            const int e = errno;
            (void)!::write(exec_pipe[1], &e, sizeof(e));
            ::_exit(127);
        }
        ::signal(SIGPIPE, SIG_DFL);
        for (const auto& [name, value] : options.environment) {
            if (value.empty()) {
                ::unsetenv(name.c_str());
            } else {
                ::setenv(name.c_str(), value.c_str(), 1);
            }
        }
        ::execvp(argv[0], argv.data());
        const int e = errno;
        (void)!::write(exec_pipe[1], &e, sizeof(e));
        ::_exit(127);
    }
    ::setpgid(pid_, pid_); // also from the parent, to win the race with stop()
    // Readable when the child exits: waiting polls it with the pipes instead
    // of sleeping between checks. Without it (a kernel before 5.3) waiting
    // falls back to checking every 20 ms. A pidfd is always close-on-exec.
    pid_fd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    ::close(exec_pipe[1]);
    if (out_target >= 0) {
        ::close(out_target);
    }
    if (err_target >= 0) {
        ::close(err_target);
    }
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    for (int fd : {out_fd_, err_fd_}) {
        if (fd >= 0) {
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        }
    }
    int child_errno = 0;
    ssize_t n;
    do {
        n = ::read(exec_pipe[0], &child_errno, sizeof(child_errno));
    } while (n < 0 && errno == EINTR);
    ::close(exec_pipe[0]);
    if (n == sizeof(child_errno)) {
        reap(true);
        throw ProcessError("cannot run " + program_ + ": " + std::strerror(child_errno));
    }
}

ChildProcess::~ChildProcess() {
    if (running()) {
        stop(std::chrono::milliseconds(500));
    }
    for (int fd : {out_fd_, err_fd_, pid_fd_}) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
}

void ChildProcess::drain(int timeout_ms) {
    pollfd fds[3];
    nfds_t n = 0;
    if (out_fd_ >= 0) {
        fds[n++] = {out_fd_, POLLIN, 0};
    }
    if (err_fd_ >= 0) {
        fds[n++] = {err_fd_, POLLIN, 0};
    }
    // Until it is reaped, the child's exit ends the wait too.
    if (pid_fd_ >= 0 && !status_) {
        fds[n++] = {pid_fd_, POLLIN, 0};
    }
    if (n == 0) {
        if (timeout_ms > 0) {
            ::usleep(static_cast<useconds_t>(std::min(timeout_ms, 20)) * 1000);
        }
        return;
    }
    if (::poll(fds, n, timeout_ms) <= 0) {
        return;
    }
    for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].fd == pid_fd_ || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
            continue;
        }
        std::string& sink = fds[i].fd == out_fd_ ? out_ : err_;
        char buf[4096];
        for (;;) {
            const ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
            if (got > 0) {
                sink.append(buf, static_cast<std::size_t>(got));
                continue;
            }
            if (got == 0) { // EOF: the child closed its end
                ::close(fds[i].fd);
                (fds[i].fd == out_fd_ ? out_fd_ : err_fd_) = -1;
            }
            break;
        }
    }
}

bool ChildProcess::reap(bool block) {
    if (status_) {
        return true;
    }
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r != pid_) {
        return false;
    }
    if (pid_fd_ >= 0) {
        ::close(pid_fd_);
        pid_fd_ = -1;
    }
    if (WIFSIGNALED(status)) {
        signaled_ = true;
        status_ = 128 + WTERMSIG(status);
    } else {
        status_ = WEXITSTATUS(status);
    }
    return true;
}

std::optional<int> ChildProcess::poll_exit() {
    drain(0);
    reap(false);
    return status_;
}

std::optional<std::string>
ChildProcess::wait_for_line(const std::function<bool(const std::string&)>& match,
                            std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        std::size_t eol;
        while ((eol = out_.find('\n', out_scanned_)) != std::string::npos) {
            std::string line = out_.substr(out_scanned_, eol - out_scanned_);
            out_scanned_ = eol + 1;
            if (match(line)) {
                return line;
            }
        }
        if (poll_exit().has_value() && out_fd_ < 0) {
            return std::nullopt;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        drain(static_cast<int>(std::min<long long>(left.count(), 50)));
    }
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (poll_exit()) {
            // Collect what is left in the pipes.
            for (int i = 0; i < 100 && (out_fd_ >= 0 || err_fd_ >= 0); ++i) {
                drain(10);
            }
            return status_;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        drain(static_cast<int>(std::min<long long>(left.count(), 20)));
    }
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
    if (!running()) {
        return *status_;
    }
    ::kill(-pid_, SIGTERM);
    if (!wait(grace)) {
        ::kill(-pid_, SIGKILL);
        reap(true);
    }
    return *status_;
}

std::string ChildProcess::last_error_line() const {
    std::size_t end = err_.size();
    while (end > 0) {
        while (end > 0 && (err_[end - 1] == '\n' || err_[end - 1] == '\r')) {
            --end;
        }
        const std::size_t start = err_.rfind('\n', end == 0 ? 0 : end - 1);
        const std::size_t from = start == std::string::npos ? 0 : start + 1;
        std::string line = err_.substr(from, end - from);
        if (!line.empty()) {
            return line;
        }
        end = from;
    }
    return {};
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::string& working_directory,
                          const std::vector<std::pair<std::string, std::string>>& environment) {
    LaunchOptions options;
    options.argv = argv;
    options.working_directory = working_directory;
    options.environment = environment;
    ChildProcess child(options);
    CommandResult result;
    const auto status = child.wait(timeout);
    if (!status) {
        result.timed_out = true;
        result.status = child.stop();
    } else {
        result.status = *status;
    }
    result.out = child.stdout_text();
    result.err = child.stderr_text();
    return result;
}

} // namespace tlsheap::process
