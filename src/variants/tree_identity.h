// The content identity of an mbedTLS tree: the hash of every source and
// header that goes into a build (.c, .h and .inc under include/, library/
// and 3rdparty/). Reading and hashing the ~300 files on every run costs more
// than the rest of a warm profile, so the identity is kept in the cache under
// the list of the files' paths, sizes and modification times, and the files
// are read again only when that list changes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tlsheap::build {

struct TreeFile {
    std::filesystem::path path; // relative to the tree's root
    std::uintmax_t size = 0;
    std::int64_t mtime_ns = 0;
};

// The tree's files, sorted by path.
std::vector<TreeFile> tree_files(const std::filesystem::path& root);

// 32 hex digits, from the files' contents. `cache_dir` empty: nothing is
// cached. An identity is kept only when no file was modified in the last
// seconds: an edit within the same timestamp tick that kept the size would
// otherwise go unseen.
std::string tree_identity(const std::filesystem::path& root,
                          const std::filesystem::path& cache_dir);

// Where the identity of a tree with these files is kept.
std::filesystem::path tree_identity_cache_file(const std::filesystem::path& root,
                                               const std::vector<TreeFile>& files,
                                               const std::filesystem::path& cache_dir);

} // namespace tlsheap::build
