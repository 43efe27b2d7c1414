// Compiled objects shared by every variant, keyed on what the compiler sees:
// the compiler, its command line and the source's preprocessed output. A
// variant that differs from a cached one in a few macros recompiles only the
// files those macros reach (a size knob such as MBEDTLS_SSL_OUT_CONTENT_LEN
// changes 5 of mbedTLS's 114 files), and the recorder's files that include no
// mbedTLS header compile once per ABI and compiler.
//
// The effective config lives in each variant's own directory, so its path is
// in the command line and in the preprocessor's line markers; both are keyed
// with that directory written as a fixed token. gcc keeps neither in the
// object (-D and -I are not among the switches -grecord-gcc-switches records,
// and a config of macros only adds no line or file entry to the debug
// information), so two variants whose preprocessed outputs agree produce the
// same bytes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tlsheap::build {

class ObjectCache {
  public:
    explicit ObjectCache(std::filesystem::path dir);

    // 32 hex digits. `command` is the compile command without its output
    // (`-o FILE`); `config_dir` (the variant's directory) is replaced in it
    // and in `preprocessed` by one token.
    static std::string key(const std::string& compiler_identity,
                           const std::vector<std::string>& command, const std::string& preprocessed,
                           const std::string& config_dir);

    // Puts the object cached under `key` at `object` (a hard link, or a copy
    // across file systems); false when there is none.
    bool fetch(const std::string& key, const std::filesystem::path& object) const;
    // Keeps `object` under `key`. Concurrent tlsheap processes may store the
    // same key: each writes its own temporary file and renames it in place.
    void store(const std::string& key, const std::filesystem::path& object) const;

  private:
    std::filesystem::path path_of(const std::string& key) const;
    std::filesystem::path dir_;
};

} // namespace tlsheap::build
