// The Meta keys: docs/trace-format.md lists exactly the keys trace_meta.h
// defines, so that the documentation cannot drift from the code.
#include "tlsheap/trace_meta.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <string>

namespace tlsheap::trace {
namespace {

namespace fs = std::filesystem;

// The first column of every table row under "### Metadata keys", up to the
// next heading: "| `recorder.side` | ..." gives recorder.side.
std::multiset<std::string> documented_keys() {
    std::ifstream doc(fs::path(TLSHEAP_SOURCE_DIR) / "docs" / "trace-format.md");
    EXPECT_TRUE(doc) << "cannot read docs/trace-format.md";
    std::multiset<std::string> keys;
    bool in_section = false;
    for (std::string line; std::getline(doc, line);) {
        if (line.rfind('#', 0) == 0) {
            in_section = line == "### Metadata keys";
            continue;
        }
        if (!in_section || line.rfind("| `", 0) != 0) {
            continue;
        }
        const std::size_t end = line.find('`', 3);
        if (end != std::string::npos) {
            keys.insert(line.substr(3, end - 3));
        }
    }
    return keys;
}

TEST(TraceMeta, TheDocumentationListsEveryKeyOnce) {
    const std::multiset<std::string> documented = documented_keys();
    const std::multiset<std::string> defined(meta::kAllKeys.begin(), meta::kAllKeys.end());
    EXPECT_EQ(documented, defined);
}

TEST(TraceMeta, EveryKeyIsDefinedOnce) {
    const std::set<std::string_view> unique(meta::kAllKeys.begin(), meta::kAllKeys.end());
    EXPECT_EQ(unique.size(), meta::kAllKeys.size());
}

TEST(TraceMeta, RecorderSideReadsAnythingButServerAsTheClient) {
    EXPECT_EQ(meta::recorder_side("server"), tls::Side::Server);
    EXPECT_EQ(meta::recorder_side("client"), tls::Side::Client);
    EXPECT_EQ(meta::recorder_side(""), tls::Side::Client); // key missing
}

TEST(TraceMeta, PointerSizeIsFourOrEight) {
    EXPECT_EQ(meta::pointer_size("4"), 4u);
    EXPECT_EQ(meta::pointer_size("8"), 8u);
    EXPECT_EQ(meta::pointer_size(""), 8u);
}

TEST(TraceMeta, NumbersAreWholeDecimalValues) {
    EXPECT_EQ(meta_number("16384"), 16384u);
    EXPECT_EQ(meta_number(""), 0u);
    EXPECT_EQ(meta_number("16384 "), 0u);
    EXPECT_EQ(meta_number("-1"), 0u);
}

} // namespace
} // namespace tlsheap::trace
