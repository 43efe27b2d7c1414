#include "forked_runs.h"

#include "connection_phases.h"
#include "failure_injection.h"
#include "tlsheap/recorder_protocol.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <string>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tlsheap::recorder {

namespace {

namespace protocol = recorder_protocol;

// The run, not its parent, is what a stopped tlsheap must take down.
void die_with_parent() {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

pid_t fork_run() {
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid == 0) {
        die_with_parent();
    }
    return pid;
}

void write_all(int fd, const std::string& text) {
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t n = write(fd, text.data() + done, text.size() - done);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return;
        }
        done += static_cast<std::size_t>(n);
    }
}

std::string read_all(int fd) {
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t n = read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return text;
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

// One field: no separator or line break inside.
std::string field(std::string text) {
    std::replace_if(
        text.begin(), text.end(),
        [](char c) { return c == protocol::kFieldSeparator || c == '\n' || c == '\r'; }, ' ');
    return text.empty() ? std::string(protocol::kNotReported) : text;
}

std::string injection_line(std::uint64_t k, protocol::RunEnd end, long code,
                           const std::string& reported, const std::string& text) {
    std::string line = std::string(protocol::kInjection) + protocol::kFieldSeparator +
                       std::to_string(k) + protocol::kFieldSeparator +
                       std::string(protocol::run_end_name(end)) + protocol::kFieldSeparator +
                       std::to_string(code) + protocol::kFieldSeparator;
    if (!reported.empty()) {
        line += reported;
    } else {
        // FAILED .. LEAK_ORDINALS: the run did not say.
        for (unsigned i = 0; i < protocol::kInjectionFields - 5; ++i) {
            line += std::string(protocol::kNotReported) + protocol::kFieldSeparator;
        }
    }
    return line + field(text) + "\n";
}

// What a run that finished says of itself: FAILED .. LEAK_ORDINALS, each
// followed by the separator.
std::string run_report(const ConnectionResult& result) {
    const FailureInjection& injection = FailureInjection::instance();
    const auto leaked = injection.live_blocks();
    std::uint64_t leaked_bytes = 0;
    std::string ordinals;
    for (std::size_t i = 0; i < leaked.size(); ++i) {
        leaked_bytes += leaked[i].bytes;
        if (i < protocol::kMaxLeakOrdinals) {
            ordinals += (i == 0 ? "" : ",") + std::to_string(leaked[i].ordinal);
        }
    }
    const bool failed = result.status != ConnectionStatus::Ok;
    const std::string fields[] = {std::to_string(injection.failed_call()),
                                  std::to_string(injection.requested_bytes()),
                                  std::to_string(failed ? result.ret : 0),
                                  failed && result.state >= 0 ? state_name(result.state)
                                                              : std::string(),
                                  std::to_string(leaked_bytes),
                                  std::to_string(leaked.size()),
                                  ordinals};
    std::string text;
    for (const std::string& f : fields) {
        text += field(f) + protocol::kFieldSeparator;
    }
    return text;
}

// The first line of what a run wrote on stderr that says what happened: a
// sanitizer's "ERROR:" line if there is one, else the first line.
std::string first_error_line(int fd) {
    lseek(fd, 0, SEEK_SET);
    const std::string text = read_all(fd);
    std::size_t at = text.find("ERROR: ");
    if (at == std::string::npos) {
        at = 0;
    } else {
        const std::size_t line_start = text.rfind('\n', at);
        at = line_start == std::string::npos ? 0 : line_start + 1;
    }
    return text.substr(at, text.find('\n', at) - at);
}

// Connects and hangs up: a peer still waiting for this run's next
// connection (or in its handshake) fails its run on it and starts afresh.
void end_peer_run(const RecorderOptions& o) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(o.connect_host.c_str(), o.connect_port.c_str(), &hints, &found) != 0) {
        return;
    }
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            continue;
        }
        const bool connected = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
        close(fd);
        if (connected) {
            break;
        }
    }
    freeaddrinfo(found);
}

} // namespace

int sweep_allocation_failures(const RecorderOptions& o) {
    // The recorder's own timeouts bound each wait; this bounds a run that
    // loops without waiting.
    const unsigned watchdog_s = std::max(2u, 6 * o.timeout_ms / 1000);
    const bool pools = o.sweep.pools();
    for (std::uint64_t i = 0; i < o.sweep.runs(); ++i) {
        const std::uint64_t k = o.sweep.parameter(i);
        int report[2];
        if (pipe2(report, O_CLOEXEC) != 0) {
            std::fprintf(stderr, "error: pipe: %s\n", std::strerror(errno));
            return static_cast<int>(ConnectionStatus::Usage);
        }
        const int err = memfd_create("tlsheap-run-stderr", MFD_CLOEXEC);
        const pid_t pid = fork_run();
        if (pid < 0) {
            std::fprintf(stderr, "error: fork: %s\n", std::strerror(errno));
            return static_cast<int>(ConnectionStatus::Usage);
        }
        if (pid == 0) {
            close(report[0]);
            if (err >= 0) {
                dup2(err, STDERR_FILENO);
            }
            alarm(watchdog_s);
            RecorderOptions run = o;
            if (pools) {
                run.pool_size = k;
            }
            FailureInjection::instance().arm(pools ? 0 : k);
            const ConnectionResult result = run_lifecycle(run, nullptr);
            write_all(report[1], run_report(result) + field(result.error));
            _exit(static_cast<int>(result.status));
        }
        close(report[1]);
        const std::string reported = read_all(report[0]);
        close(report[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        std::string line;
        if (WIFEXITED(status) && !reported.empty()) {
            const auto last = reported.rfind(protocol::kFieldSeparator);
            line = injection_line(k, protocol::RunEnd::Finished, WEXITSTATUS(status),
                                  reported.substr(0, last + 1), reported.substr(last + 1));
        } else {
            const std::string text = err >= 0 ? first_error_line(err) : std::string();
            if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
                line = injection_line(k, protocol::RunEnd::Stopped, watchdog_s, {}, text);
            } else if (WIFSIGNALED(status)) {
                line = injection_line(k, protocol::RunEnd::Signal, WTERMSIG(status), {}, text);
            } else {
                line = injection_line(k, protocol::RunEnd::Exited, WEXITSTATUS(status), {}, text);
            }
        }
        if (err >= 0) {
            close(err);
        }
        std::fputs(line.c_str(), stdout);
        std::fflush(stdout);
        end_peer_run(o);
    }
    return 0;
}

int serve_forked_runs(const RecorderOptions& o, Listener& listener) {
    for (;;) {
        const pid_t pid = fork_run();
        if (pid < 0) {
            std::fprintf(stderr, "error: fork: %s\n", std::strerror(errno));
            return static_cast<int>(ConnectionStatus::Usage);
        }
        if (pid == 0) {
            const ConnectionResult result = run_lifecycle(o, &listener);
            _exit(static_cast<int>(result.status));
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

} // namespace tlsheap::recorder
