#pragma once

#include <filesystem>

namespace tlsheap::build {

// Holds an exclusive flock on `path` (created if missing) for the lifetime of
// the object. Guards what several tlsheap processes share in the cache: a
// variant's build directory, a cached trace.
class FileLock {
  public:
    explicit FileLock(const std::filesystem::path& path);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

  private:
    int fd_ = -1;
};

} // namespace tlsheap::build
