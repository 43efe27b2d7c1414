// A recording's scratch directory under the cache's runs/: the recorder's raw
// trace, the peer's files. A run that is interrupted cannot remove its own,
// so each one is held by an flock on <dir>.lock beside it while the run
// lives, and the next run removes those whose lock it can take.
#pragma once

#include "variants/file_lock.h"

#include <filesystem>
#include <string>

namespace tlsheap::pipeline {

class RunScratch {
  public:
    // Locks runs/<name>.lock, then creates runs/<name> empty.
    RunScratch(const std::filesystem::path& runs, const std::string& name);
    // Removes the directory, then its lock file.
    ~RunScratch();
    RunScratch(const RunScratch&) = delete;
    RunScratch& operator=(const RunScratch&) = delete;
    const std::filesystem::path& path() const { return dir_; }

  private:
    std::filesystem::path dir_;
    build::FileLock lock_;
};

// Removes the scratch directories in `runs` that no live run holds: those
// whose lock can be taken, and those from before the locks whose process (the
// pid in "<scenario>-<abi>-<pid>-<n>") is gone. Returns how many.
unsigned remove_abandoned_scratch(const std::filesystem::path& runs);

} // namespace tlsheap::pipeline
