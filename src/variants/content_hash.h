// Content hashes for the build cache (XXH3-128 from Debian's libxxhash): a
// variant's key is the hash of everything that can change what is built.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace tlsheap::build {

class ContentHash {
  public:
    ContentHash();
    ~ContentHash();
    ContentHash(const ContentHash&) = delete;
    ContentHash& operator=(const ContentHash&) = delete;

    // Each piece is length-prefixed, so ("ab","c") and ("a","bc") differ.
    ContentHash& add(std::string_view bytes);
    // Adds the path (as given) and the file's bytes.
    ContentHash& add_file(const std::filesystem::path& file, std::string_view label);
    // 32 hex digits.
    std::string hex() const;

  private:
    void* state_;
};

std::string read_text_file(const std::filesystem::path& file);

} // namespace tlsheap::build
