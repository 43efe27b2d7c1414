#include "pipeline/run_scratch.h"

#include <cerrno>
#include <charconv>
#include <csignal>

namespace tlsheap::pipeline {

namespace fs = std::filesystem;

namespace {

fs::path lock_path(const fs::path& dir) {
    return dir.string() + ".lock";
}

// The pid in a name "<scenario>-<abi>-<pid>-<n>" (scratch directories
// before the locks), or 0.
pid_t pid_in_name(const std::string& name) {
    const auto last = name.rfind('-');
    if (last == std::string::npos || last == 0) {
        return 0;
    }
    const auto before = name.rfind('-', last - 1);
    if (before == std::string::npos) {
        return 0;
    }
    pid_t pid = 0;
    const char* first = name.data() + before + 1;
    const char* end = name.data() + last;
    const auto [at, ec] = std::from_chars(first, end, pid);
    return ec == std::errc() && at == end && pid > 0 ? pid : 0;
}

bool process_gone(pid_t pid) {
    return ::kill(pid, 0) != 0 && errno == ESRCH;
}

} // namespace

RunScratch::RunScratch(const fs::path& runs, const std::string& name)
    : dir_(runs / name), lock_((fs::create_directories(runs), lock_path(runs / name))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
}

RunScratch::~RunScratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    // Still held: no other run removes the directory or the file meanwhile.
    fs::remove(lock_path(dir_), ec);
}

unsigned remove_abandoned_scratch(const fs::path& runs) {
    unsigned removed = 0;
    std::error_code ec;
    for (fs::directory_iterator it(runs, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_directory(ec) || it->is_symlink(ec)) {
            continue;
        }
        const fs::path dir = it->path();
        try {
            if (fs::exists(lock_path(dir), ec)) {
                const auto lock = build::FileLock::try_lock(lock_path(dir), false);
                if (!lock) {
                    continue; // its run is alive
                }
                fs::remove_all(dir, ec);
                fs::remove(lock_path(dir), ec);
            } else {
                const pid_t pid = pid_in_name(dir.filename().string());
                if (pid == 0 || !process_gone(pid)) {
                    continue;
                }
                fs::remove_all(dir, ec);
            }
            ++removed;
        } catch (const std::exception&) {
            // Cleaning up is best effort: it never stops the run.
        }
    }
    return removed;
}

} // namespace tlsheap::pipeline
