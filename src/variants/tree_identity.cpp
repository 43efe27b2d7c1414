#include "variants/tree_identity.h"

#include "variants/cache_file.h"
#include "variants/content_hash.h"

#include <algorithm>
#include <chrono>

namespace tlsheap::build {

namespace fs = std::filesystem;

namespace {

// Modified more recently than this, a file may change again within the same
// timestamp (coarse on some file systems) without its list entry changing.
constexpr auto kSettled = std::chrono::seconds(2);

std::string content_identity(const fs::path& root, const std::vector<TreeFile>& files) {
    ContentHash hash;
    for (const TreeFile& f : files) {
        hash.add_file(root / f.path, f.path.string());
    }
    return hash.hex();
}

bool is_identity(const std::string& text) {
    return text.size() == 32 && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

} // namespace

std::vector<TreeFile> tree_files(const fs::path& root) {
    std::vector<TreeFile> files;
    for (const char* dir : {"include", "library", "3rdparty"}) {
        if (!fs::exists(root / dir)) {
            continue;
        }
        for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
            const auto ext = entry.path().extension();
            if (entry.is_regular_file() && (ext == ".c" || ext == ".h" || ext == ".inc")) {
                // Lexically: fs::relative resolves every component of both paths
                // through readlink, a dozen system calls per file.
                files.push_back({entry.path().lexically_relative(root), entry.file_size(),
                                 std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     entry.last_write_time().time_since_epoch())
                                     .count()});
            }
        }
    }
    std::sort(files.begin(), files.end(),
              [](const TreeFile& a, const TreeFile& b) { return a.path < b.path; });
    return files;
}

fs::path tree_identity_cache_file(const fs::path& root, const std::vector<TreeFile>& files,
                                  const fs::path& cache_dir) {
    ContentHash key;
    key.add("tlsheap-tree-listing-v1").add(fs::absolute(root).lexically_normal().string());
    for (const TreeFile& f : files) {
        key.add(f.path.string()).add(std::to_string(f.size)).add(std::to_string(f.mtime_ns));
    }
    return cache_dir / "trees" / (key.hex() + ".identity");
}

std::string tree_identity(const fs::path& root, const fs::path& cache_dir) {
    const std::vector<TreeFile> files = tree_files(root);
    if (cache_dir.empty()) {
        return content_identity(root, files);
    }
    const fs::path cached = tree_identity_cache_file(root, files, cache_dir);
    if (const auto text = read_cache_file(cached, 64); text && is_identity(*text)) {
        return *text;
    }
    const std::string identity = content_identity(root, files);
    const std::int64_t settled =
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            (fs::file_time_type::clock::now() - kSettled).time_since_epoch())
            .count();
    if (std::all_of(files.begin(), files.end(),
                    [&](const TreeFile& f) { return f.mtime_ns < settled; })) {
        write_cache_file(cached, identity);
    }
    return identity;
}

} // namespace tlsheap::build
