#include "variants/cache_file.h"

#include <atomic>
#include <fstream>
#include <iterator>
#include <unistd.h>

namespace tlsheap::build {

namespace fs = std::filesystem;

std::optional<std::string> read_cache_file(const fs::path& file, std::size_t max_bytes) {
    std::error_code ec;
    // A FIFO or a device in its place must not block or flood the reader.
    if (!fs::is_regular_file(fs::symlink_status(file, ec)) || ec) {
        return std::nullopt;
    }
    const auto size = fs::file_size(file, ec);
    if (ec || size > max_bytes) {
        return std::nullopt;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad() || bytes.size() > max_bytes) {
        return std::nullopt;
    }
    return bytes;
}

fs::path temporary_beside(const fs::path& file) {
    static std::atomic<unsigned> calls{0};
    return file.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(++calls);
}

void write_cache_file(const fs::path& file, const std::string& bytes) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    const fs::path tmp = temporary_beside(file);
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) {
            fs::remove(tmp, ec);
            return;
        }
    }
    fs::rename(tmp, file, ec);
    if (ec) {
        fs::remove(tmp, ec);
    }
}

} // namespace tlsheap::build
