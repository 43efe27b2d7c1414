#include "variants/known_macros.h"

#include "variants/content_hash.h"

#include <cctype>
#include <filesystem>

namespace tlsheap::build {

namespace fs = std::filesystem;

std::set<std::string> macro_names_in_tree(const MbedtlsTree& tree) {
    std::set<std::string> names;
    auto scan = [&](const std::string& text) {
        const std::size_t n = text.size();
        for (std::size_t i = 0; i < n;) {
            if (std::isalpha(static_cast<unsigned char>(text[i])) || text[i] == '_') {
                std::size_t j = i;
                while (j < n &&
                       (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) {
                    ++j;
                }
                if (text.compare(i, 8, "MBEDTLS_") == 0 || text.compare(i, 4, "PSA_") == 0) {
                    names.insert(text.substr(i, j - i));
                }
                i = j;
            } else {
                ++i;
            }
        }
    };
    for (const fs::path& dir : {tree.include_dir(), tree.library_dir()}) {
        for (const auto& entry : fs::recursive_directory_iterator(dir)) {
            if (entry.is_regular_file() && entry.path().extension() == ".h") {
                scan(read_text_file(entry.path()));
            }
        }
    }
    return names;
}

} // namespace tlsheap::build
