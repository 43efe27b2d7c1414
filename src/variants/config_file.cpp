#include "variants/config_file.h"

#include "variants/build_error.h"

namespace tlsheap::build {

namespace fs = std::filesystem;

void check_config_file(const fs::path& file) {
    std::error_code ec;
    const fs::file_status status = fs::status(file, ec);
    if (!fs::exists(status)) {
        throw BuildError("config file " + file.string() + " does not exist");
    }
    if (fs::is_directory(status)) {
        throw BuildError("config file " + file.string() + " is a directory, not a config.h");
    }
    if (!fs::is_regular_file(status)) {
        throw BuildError("config file " + file.string() + " is not a regular file");
    }
    if (fs::file_size(file, ec) > kMaxConfigBytes) {
        throw BuildError("config file " + file.string() + " is larger than 1 MiB");
    }
}

} // namespace tlsheap::build
