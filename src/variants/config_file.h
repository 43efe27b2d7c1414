// A config.h the user names (--config), checked before it is read: it is read
// whole, hashed and compiled, so it must be a regular file of a config's size
// (not /dev/zero, a directory or a FIFO that never ends).
#pragma once

#include <cstdint>
#include <filesystem>

namespace tlsheap::build {

// mbedTLS's own configs are about 200 KiB.
inline constexpr std::uintmax_t kMaxConfigBytes = 1u << 20;

// Throws BuildError with one line naming the file: it does not exist, is
// not a regular file, or is larger than kMaxConfigBytes.
void check_config_file(const std::filesystem::path& file);

} // namespace tlsheap::build
