// The first line a program prints for `--version`: whether a compiler or an
// emulator is installed, and the compiler part of every build cache key.
// Starting gcc and g++ to ask costs ~10 ms a run; the answer is kept per
// process and on disk, under the executable's resolved path, size and
// modification time, so it is asked again only when the program changes.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace tlsheap::build {

// nullopt when the program is not found, does not run or exits non-zero.
// `cache_dir` empty: nothing is kept on disk.
std::optional<std::string> program_version_line(const std::string& program,
                                                const std::filesystem::path& cache_dir);

// The file a program's answer is kept in: nullopt when the program is not
// found on PATH (then it is asked every time).
std::optional<std::filesystem::path>
program_version_cache_file(const std::string& program, const std::filesystem::path& cache_dir);

} // namespace tlsheap::build
