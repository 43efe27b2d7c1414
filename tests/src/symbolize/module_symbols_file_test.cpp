// Kept lookups round-trip, and a file that is not exactly one written for the
// same identity reads as absent: cut anywhere, any byte changed, counts that
// claim more than the file holds. Nothing in it may crash the reader.
#include "symbolize/module_symbols_file.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace tlsheap::symbolize {
namespace {

namespace fs = std::filesystem;

ModuleSymbols sample() {
    ModuleSymbols symbols;
    symbols[0x1234] = {
        {{"inlined_leaf", "/src/library/x.c", 12}, {"outer", "/src/library/x.c", 40}}};
    symbols[0x10] = {};                            // looked up, nothing known
    symbols[0xffffffffffffull] = {{{"f", "", 0}}}; // a symbol-table name only
    return symbols;
}

TEST(ModuleSymbolsFile, RoundTrips) {
    const std::string bytes = encode_module_symbols("id", sample());
    const auto decoded = decode_module_symbols(bytes, "id");
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, sample());
    EXPECT_EQ(decode_module_symbols(encode_module_symbols("id", {}), "id"), ModuleSymbols{});
}

TEST(ModuleSymbolsFile, AnotherIdentityIsAbsent) {
    EXPECT_FALSE(decode_module_symbols(encode_module_symbols("id", sample()), "id2"));
    EXPECT_FALSE(decode_module_symbols(encode_module_symbols("id2", sample()), "id"));
}

TEST(ModuleSymbolsFile, EveryCutIsAbsent) {
    const std::string bytes = encode_module_symbols("id", sample());
    for (std::size_t size = 0; size < bytes.size(); ++size) {
        EXPECT_FALSE(decode_module_symbols(bytes.substr(0, size), "id")) << size;
    }
    EXPECT_FALSE(decode_module_symbols(bytes + '\0', "id"));
}

// A changed byte may still parse (a letter of a name): then as some symbols,
// never as a crash.
TEST(ModuleSymbolsFile, ChangedBytesNeverCrash) {
    const std::string bytes = encode_module_symbols("id", sample());
    for (std::size_t at = 0; at < bytes.size(); ++at) {
        for (const unsigned char value : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
            std::string changed = bytes;
            changed[at] = static_cast<char>(value);
            (void)decode_module_symbols(changed, "id");
        }
    }
}

TEST(ModuleSymbolsFile, CountsBeyondTheFileAreAbsent) {
    const std::string header = encode_module_symbols("id", {});
    std::string huge = header.substr(0, header.size() - 1); // without the count
    huge += std::string(9, '\xff') + '\x01';                // 2^63 + ...
    EXPECT_FALSE(decode_module_symbols(huge, "id"));
    std::string levels = header.substr(0, header.size() - 1);
    levels += std::string("\x01\x10") + "\xff\xff\xff\x7f"; // one address, 2^28 levels
    EXPECT_FALSE(decode_module_symbols(levels, "id"));
    std::string long_varint = header.substr(0, header.size() - 1) + std::string(20, '\x80');
    EXPECT_FALSE(decode_module_symbols(long_varint, "id"));
}

TEST(ModuleSymbolsFile, MissingOrOddFilesAreAbsent) {
    const fs::path dir =
        fs::temp_directory_path() / ("tlsheap-module-symbols-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    EXPECT_FALSE(read_module_symbols(dir / "missing", "id"));
    EXPECT_FALSE(read_module_symbols(dir, "id")); // a directory
    write_module_symbols(dir / "kept", "id", sample());
    EXPECT_EQ(read_module_symbols(dir / "kept", "id"), sample());
    std::ofstream(dir / "kept", std::ios::trunc) << "tlsheap-module-symbols-v1\n";
    EXPECT_FALSE(read_module_symbols(dir / "kept", "id"));
    // Into a directory that cannot hold it: nothing written, nothing thrown.
    write_module_symbols(dir / "kept" / "below-a-file", "id", sample());
    fs::remove_all(dir);
}

} // namespace
} // namespace tlsheap::symbolize
