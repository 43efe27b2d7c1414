#include "variants/content_hash.h"

#include "variants/build_error.h"

#include <cstdint>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <xxhash.h>

namespace tlsheap::build {

ContentHash::ContentHash() : state_(XXH3_createState()) {
    XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_));
}

ContentHash::~ContentHash() {
    XXH3_freeState(static_cast<XXH3_state_t*>(state_));
}

ContentHash& ContentHash::add(std::string_view bytes) {
    const std::uint64_t size = bytes.size();
    XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), &size, sizeof(size));
    XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), bytes.data(), bytes.size());
    return *this;
}

ContentHash& ContentHash::add_file(const std::filesystem::path& file, std::string_view label) {
    add(label);
    add(read_text_file(file));
    return *this;
}

std::string ContentHash::hex() const {
    const XXH128_hash_t h = XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_));
    return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

std::string read_text_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw BuildError("cannot read " + file.string());
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace tlsheap::build
