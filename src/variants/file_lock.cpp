#include "variants/file_lock.h"

#include "tlsheap/number_text.h"
#include "variants/build_error.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace tlsheap::build {

namespace {

int open_lock_file(const std::filesystem::path& path, bool create) {
    return ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
}

int flock_retrying(int fd, int operation) {
    int rc = 0;
    do {
        rc = ::flock(fd, operation);
    } while (rc != 0 && errno == EINTR);
    return rc;
}

} // namespace

FileLock::FileLock(const std::filesystem::path& path) {
    fd_ = open_lock_file(path, true);
    if (fd_ < 0) {
        throw BuildError("cannot lock " + path.string());
    }
    if (flock_retrying(fd_, LOCK_EX) != 0) {
        ::close(fd_);
        throw BuildError("cannot lock " + path.string());
    }
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(other.fd_) {
    other.fd_ = -1;
}

FileLock::~FileLock() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::optional<FileLock> FileLock::try_lock(const std::filesystem::path& path, bool create) {
    FileLock lock;
    lock.fd_ = open_lock_file(path, create);
    if (lock.fd_ < 0) {
        if (!create && errno == ENOENT) {
            return std::nullopt;
        }
        throw BuildError("cannot lock " + path.string());
    }
    if (flock_retrying(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            return std::nullopt;
        }
        throw BuildError("cannot lock " + path.string());
    }
    return lock;
}

FileLock FileLock::wait_for(const std::filesystem::path& path, std::chrono::milliseconds bound,
                            std::chrono::milliseconds report_after,
                            const std::function<void(const std::string&)>& waiting) {
    const auto start = std::chrono::steady_clock::now();
    bool reported = false;
    for (;;) {
        if (std::optional<FileLock> lock = try_lock(path)) {
            return std::move(*lock);
        }
        const auto waited = std::chrono::steady_clock::now() - start;
        if (waited >= bound) {
            throw BuildError(fmt::format("gave up after {:g} s waiting for {}, held by {}",
                                         std::chrono::duration<double>(bound).count(),
                                         path.string(), lock_holder(path)));
        }
        if (!reported && waited >= report_after) {
            reported = true;
            if (waiting) {
                waiting("waiting for " + path.string() + ", held by " + lock_holder(path));
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

void FileLock::record_holder() {
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) == 0) {
        [[maybe_unused]] const auto written = ::pwrite(fd_, pid.data(), pid.size(), 0);
    }
}

std::chrono::milliseconds lock_wait_bound(std::chrono::milliseconds fallback) {
    const char* env = std::getenv("TLSHEAP_LOCK_TIMEOUT");
    if (env == nullptr || *env == '\0') {
        return fallback;
    }
    const std::optional<double> seconds = decimal_number(env);
    if (!seconds || *seconds > 86400) {
        throw BuildError(std::string("TLSHEAP_LOCK_TIMEOUT is '") + env +
                         "', not a number of seconds from 0 to 86400");
    }
    return std::chrono::milliseconds(static_cast<long long>(*seconds * 1000));
}

std::string lock_holder(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string pid;
    std::getline(in, pid);
    if (pid.empty() || pid.size() > 10 ||
        !std::all_of(pid.begin(), pid.end(), [](unsigned char c) { return std::isdigit(c); })) {
        return "another process";
    }
    return "pid " + pid;
}

} // namespace tlsheap::build
