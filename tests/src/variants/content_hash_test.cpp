// ContentHash: the cache keys' hash. Equal inputs hash equal, pieces are
// length-prefixed, files are hashed by label and contents (not path or time).
#include "variants/build_error.h"
#include "variants/content_hash.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace tlsheap::build {
namespace {

namespace fs = std::filesystem;

TEST(ContentHash, Is32HexDigitsAndRepeatable) {
    const std::string a = ContentHash().add("tlsheap").add("library").hex();
    EXPECT_EQ(a.size(), 32u);
    EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(ContentHash().add("tlsheap").add("library").hex(), a);
    // hex() reads the state without ending it: it can be asked twice.
    ContentHash h;
    h.add("tlsheap").add("library");
    EXPECT_EQ(h.hex(), a);
    EXPECT_EQ(h.hex(), a);
}

TEST(ContentHash, PiecesAreLengthPrefixed) {
    EXPECT_NE(ContentHash().add("ab").add("c").hex(), ContentHash().add("a").add("bc").hex());
    EXPECT_NE(ContentHash().add("abc").hex(), ContentHash().add("abc").add("").hex());
    EXPECT_NE(ContentHash().hex(), ContentHash().add("").hex());
    EXPECT_NE(ContentHash().add("a").add("b").hex(), ContentHash().add("b").add("a").hex());
}

TEST(ContentHash, FilesByLabelAndContents) {
    const fs::path dir =
        fs::temp_directory_path() / ("tlsheap-content-hash-" + std::to_string(::getpid()));
    fs::create_directories(dir / "other");
    const auto write = [](const fs::path& p, const std::string& text) {
        std::ofstream(p, std::ios::binary) << text;
    };
    write(dir / "a.h", "#define A 1\n");
    write(dir / "other" / "a.h", "#define A 1\n");
    write(dir / "b.h", "#define A 2\n");
    const std::string a = ContentHash().add_file(dir / "a.h", "a.h").hex();
    // The same bytes under the same label, wherever the file lives.
    EXPECT_EQ(ContentHash().add_file(dir / "other" / "a.h", "a.h").hex(), a);
    // As if added piece by piece.
    EXPECT_EQ(ContentHash().add("a.h").add("#define A 1\n").hex(), a);
    EXPECT_NE(ContentHash().add_file(dir / "a.h", "x.h").hex(), a);
    EXPECT_NE(ContentHash().add_file(dir / "b.h", "a.h").hex(), a);
    EXPECT_EQ(read_text_file(dir / "b.h"), "#define A 2\n");
    EXPECT_THROW(ContentHash().add_file(dir / "missing.h", "missing.h"), BuildError);
    EXPECT_THROW(read_text_file(dir / "missing.h"), BuildError);
    fs::remove_all(dir);
}

} // namespace
} // namespace tlsheap::build
