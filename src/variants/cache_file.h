// Small files that remember what a slow step found (a compiler's version, a
// tree's content hash, a binary's symbols), so that a warm run skips the
// step. A cache file is a hint, never an input: one that is missing, cut
// short, too big or not what its reader expects is treated as absent and
// written again, and one that cannot be written is simply not kept.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace tlsheap::build {

// Its bytes, or nullopt when it cannot be read or is larger than `max_bytes`.
std::optional<std::string> read_cache_file(const std::filesystem::path& file,
                                           std::size_t max_bytes);

// Written beside it under temporary_beside(file) and renamed over it, so a
// concurrent reader sees the old file or the new one, never half of one.
// Failures are ignored (the next run will compute it again).
void write_cache_file(const std::filesystem::path& file, const std::string& bytes);

// A name in `file`'s directory that no other writer uses: unique per process
// and per call, since a sweep writes cache entries from several threads.
std::filesystem::path temporary_beside(const std::filesystem::path& file);

} // namespace tlsheap::build
