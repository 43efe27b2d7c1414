#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace tlsheap::build {

// Holds an exclusive flock on `path` (created if missing) for the lifetime of
// the object. Guards what several tlsheap processes share in the cache: a
// variant's build directory, a cached trace.
class FileLock {
  public:
    // Waits as long as it takes.
    explicit FileLock(const std::filesystem::path& path);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    FileLock(FileLock&& other) noexcept;
    FileLock& operator=(FileLock&&) = delete;

    // The lock if no one holds it, at once; nullopt if someone does. With
    // `create` false, a missing file is nullopt too.
    static std::optional<FileLock> try_lock(const std::filesystem::path& path, bool create = true);

    // Waits at most `bound`; after `report_after`, tells `waiting` once who
    // holds it (the pid its holder wrote in the file: record_holder). Throws
    // BuildError naming the file and the holder when the bound passes.
    static FileLock wait_for(const std::filesystem::path& path, std::chrono::milliseconds bound,
                             std::chrono::milliseconds report_after,
                             const std::function<void(const std::string&)>& waiting);

    // Writes this process's pid into the file, for those who wait.
    void record_holder();

  private:
    FileLock() = default;
    int fd_ = -1;
};

// How long a process waits for another's lock: TLSHEAP_LOCK_TIMEOUT seconds
// when set, else `fallback`. Throws BuildError when the variable is not a
// number of seconds from 0 to 86400.
std::chrono::milliseconds lock_wait_bound(std::chrono::milliseconds fallback);

// "pid N" from a lock file's content, or "another process" when it names none.
std::string lock_holder(const std::filesystem::path& path);

} // namespace tlsheap::build
