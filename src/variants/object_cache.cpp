#include "variants/object_cache.h"

#include "variants/build_error.h"
#include "variants/cache_file.h"
#include "variants/content_hash.h"

namespace tlsheap::build {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kConfigDirToken = "<variant-dir>";

std::string with_token(const std::string& text, const std::string& config_dir) {
    if (config_dir.empty()) {
        return text;
    }
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    for (auto hit = text.find(config_dir); hit != std::string::npos;
         hit = text.find(config_dir, pos)) {
        out.append(text, pos, hit - pos);
        out += kConfigDirToken;
        pos = hit + config_dir.size();
    }
    out.append(text, pos, std::string::npos);
    return out;
}

} // namespace

ObjectCache::ObjectCache(fs::path dir) : dir_(std::move(dir)) {}

std::string ObjectCache::key(const std::string& compiler_identity,
                             const std::vector<std::string>& command,
                             const std::string& preprocessed, const std::string& config_dir) {
    ContentHash key;
    key.add("tlsheap-object-v1").add(compiler_identity);
    for (const std::string& word : command) {
        key.add(with_token(word, config_dir));
    }
    key.add(with_token(preprocessed, config_dir));
    return key.hex();
}

fs::path ObjectCache::path_of(const std::string& key) const {
    return dir_ / key.substr(0, 2) / (key + ".o");
}

bool ObjectCache::fetch(const std::string& key, const fs::path& object) const {
    const fs::path cached = path_of(key);
    std::error_code ec;
    fs::remove(object, ec);
    fs::create_hard_link(cached, object, ec);
    if (!ec) {
        return true;
    }
    if (!fs::exists(cached, ec)) {
        return false;
    }
    // Another file system (a build directory elsewhere): copy.
    return fs::copy_file(cached, object, fs::copy_options::overwrite_existing, ec);
}

void ObjectCache::store(const std::string& key, const fs::path& object) const {
    const fs::path cached = path_of(key);
    std::error_code ec;
    if (fs::exists(cached, ec)) {
        return;
    }
    fs::create_directories(cached.parent_path(), ec);
    const fs::path temporary = temporary_beside(cached);
    // A link where the build directory shares the file system, else a copy;
    // the rename makes the object appear whole or not at all.
    fs::create_hard_link(object, temporary, ec);
    if (ec) {
        ec.clear();
        fs::copy_file(object, temporary, fs::copy_options::overwrite_existing, ec);
    }
    if (!ec) {
        fs::rename(temporary, cached, ec); // whoever renames last, the bytes are the same
    }
    if (ec) {
        fs::remove(temporary, ec);
        throw BuildError("cannot keep a compiled object in the cache " + dir_.string() + ": " +
                         ec.message());
    }
}

} // namespace tlsheap::build
