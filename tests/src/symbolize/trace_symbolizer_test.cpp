// finalize_trace on a raw trace whose stacks hold real return addresses of a
// real -O2 -g program (the symbolizer fixture, compiled from a copy placed at
// <fake mbedTLS tree>/library/call_sites.c so that its code counts as
// mbedTLS's): Frame records are written before the first event with the
// inline levels, paths relative to the tree and the mbedTLS flag; everything
// else is copied.
#include "../../replay/trace_builder.h"
#include "symbolize/module_symbols_file.h"
#include "symbolize/trace_symbolizer.h"
#include "symbolize_fixture.h"
#include "tlsheap/trace_info.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tlsheap::symbolize {
namespace {

namespace fs = std::filesystem;

const std::string kLibraryFixture = TLSHEAP_FIXTURE_LIBRARY;
const fs::path kFakeTree = TLSHEAP_FIXTURE_TREE;
const std::string kLibrarySource = (kFakeTree / "library" / "call_sites.c").string();
constexpr std::uint64_t kNowhere = 0x10; // in no module

unsigned line_of(const std::string& tag) {
    return tagged_fixture_line(kLibrarySource, tag);
}

void write_bytes(const fs::path& path, const std::vector<unsigned char>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
}

std::vector<trace::Record> read_all(const fs::path& path, bool* complete = nullptr,
                                    bool* truncated = nullptr) {
    trace::TraceReader reader(path.string());
    std::vector<trace::Record> records;
    trace::Record r;
    while (reader.next(r)) {
        records.push_back(r);
    }
    if (complete != nullptr) {
        *complete = reader.complete();
    }
    if (truncated != nullptr) {
        *truncated = reader.truncated();
    }
    return records;
}

trace::TraceInfo info_of(const std::vector<trace::Record>& records) {
    trace::TraceInfo info;
    for (const trace::Record& r : records) {
        info.absorb(r);
    }
    return info;
}

class TraceSymbolizer : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto ran = run_fixture(kLibraryFixture);
        ASSERT_TRUE(ran.has_value()) << "cannot run " << kLibraryFixture;
        run_ = *ran;
        noinline_ = run_.return_addresses.at("static_noinline");
        nested_ = run_.return_addresses.at("static_with_nested_inline");
        dir_ = fs::temp_directory_path() /
               ("tlsheap-trace-symbolizer-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Meta and Module, three stacks, a stale Frame record, then events using
    // the stacks: 3 allocations and 2 frees.
    std::vector<unsigned char> raw_trace(const std::string& module = kLibraryFixture) const {
        testing::TraceBuilder b;
        b.meta("pointer_size", "8")
            .meta("tlsheap.version", "test")
            .module(1, run_.start, run_.end, run_.bias, module)
            .stack(1, {noinline_})
            .stack(2, std::vector<std::uint64_t>{nested_, noinline_})
            .stack(3, {kNowhere})
            // A Frame from an earlier symbolization: replaced, not kept.
            .frame(noinline_, {"stale"}, false)
            .phase(trace::Phase::Setup);
        // Addresses 0x1000, 0x1100, 0x1200; the frees name seqs 1 and 2.
        b.alloc(100, 0x1000, 1);
        b.alloc(200, 0x1100, 2);
        b.alloc(300, 0x1200, 3);
        b.free(0x1000).free(0x1100);
        return b.finish();
    }

    FixtureRun run_;
    std::uint64_t noinline_ = 0;
    std::uint64_t nested_ = 0;
    fs::path dir_;
};

TEST_F(TraceSymbolizer, WritesFramesWithInlineLevelsBeforeTheFirstEvent) {
    write_bytes(dir_ / "raw.trace", raw_trace());
    const FinalizeResult result =
        finalize_trace(dir_ / "raw.trace", dir_ / "final.trace", kFakeTree);
    EXPECT_EQ(result.addresses, 3u); // noinline_ appears in two stacks: counted once
    EXPECT_EQ(result.resolved, 2u);  // kNowhere is in no module
    EXPECT_EQ(result.in_mbedtls, 2u);
    EXPECT_FALSE(result.truncated);
    EXPECT_TRUE(result.warnings.empty());

    bool complete = false;
    const auto records = read_all(dir_ / "final.trace", &complete);
    EXPECT_TRUE(complete); // End rewritten with a matching CRC and event count
    // Description records first, then the three frames, then the rest as it was.
    std::vector<trace::Tag> tags;
    for (const auto& r : records) {
        tags.push_back(r.tag);
    }
    using trace::Tag;
    EXPECT_EQ(tags, (std::vector<Tag>{Tag::Meta, Tag::Meta, Tag::Module, Tag::Frame, Tag::Frame,
                                      Tag::Frame, Tag::Stack, Tag::Stack, Tag::Stack, Tag::Phase,
                                      Tag::Alloc, Tag::Alloc, Tag::Alloc, Tag::Free, Tag::Free,
                                      Tag::End}));
    EXPECT_EQ(records.back().end_event_count, 5u);

    const trace::TraceInfo info = info_of(records);
    const auto* nested = info.frame(nested_);
    ASSERT_NE(nested, nullptr);
    ASSERT_EQ(nested->size(), 3u); // two inlined levels in the noinline function
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"inlined_leaf", "inlined_leaf_call"},
        {"inlined_middle", "inlined_middle_call"},
        {"static_with_nested_inline", "static_with_nested_inline_call"}};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ((*nested)[i].function, expected[i].first);
        EXPECT_EQ((*nested)[i].file, "library/call_sites.c");
        EXPECT_EQ((*nested)[i].line, line_of(expected[i].second)) << expected[i].first;
        EXPECT_TRUE((*nested)[i].in_mbedtls);
    }
    const auto* noinline = info.frame(noinline_);
    ASSERT_NE(noinline, nullptr);
    ASSERT_EQ(noinline->size(), 1u); // the stale frame is gone
    EXPECT_EQ(noinline->front().function, "static_noinline");
    EXPECT_EQ(noinline->front().line, line_of("static_noinline_call"));

    // What the reports then print.
    EXPECT_EQ(info.call_site(1).label(), "static_noinline (library/call_sites.c:" +
                                             std::to_string(line_of("static_noinline_call")) + ")");
    EXPECT_EQ(info.call_site(2).function, "inlined_leaf");
    EXPECT_EQ(info.call_site(3).function, "0x10"); // unresolved: the raw address
}

TEST_F(TraceSymbolizer, EventsAreCopiedUnchanged) {
    const auto raw_bytes = raw_trace();
    write_bytes(dir_ / "raw.trace", raw_bytes);
    finalize_trace(dir_ / "raw.trace", dir_ / "final.trace", kFakeTree);
    const auto before = read_all(dir_ / "raw.trace");
    const auto after = read_all(dir_ / "final.trace");
    std::vector<std::tuple<trace::Tag, std::uint64_t, std::uint64_t, std::uint64_t, std::uint32_t>>
        events_before, events_after;
    for (const auto* list : {&before, &after}) {
        auto& out = list == &before ? events_before : events_after;
        for (const auto& r : *list) {
            if (r.tag == trace::Tag::Alloc || r.tag == trace::Tag::Free) {
                out.emplace_back(r.tag, r.seq, r.size, r.address, r.stack);
            }
        }
    }
    ASSERT_EQ(events_before.size(), 5u);
    EXPECT_EQ(events_after, events_before);
    EXPECT_EQ(std::get<3>(events_after[1]), 0x1100u);
}

TEST_F(TraceSymbolizer, OutsideTheTreeFramesAreNotMbedtls) {
    write_bytes(dir_ / "raw.trace", raw_trace());
    const FinalizeResult result = finalize_trace(dir_ / "raw.trace", dir_ / "final.trace", {});
    EXPECT_EQ(result.resolved, 2u);
    EXPECT_EQ(result.in_mbedtls, 0u);
    const trace::TraceInfo info = info_of(read_all(dir_ / "final.trace"));
    const auto* frame = info.frame(noinline_);
    ASSERT_NE(frame, nullptr);
    EXPECT_FALSE(frame->front().in_mbedtls);
    EXPECT_TRUE(fs::path(frame->front().file).is_absolute()) << frame->front().file;
    EXPECT_EQ(fs::path(frame->front().file).filename(), "call_sites.c");
    // No mbedTLS level: the call site is the innermost raw address.
    EXPECT_EQ(info.call_site(1).function.rfind("0x", 0), 0u);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A module whose lookups are kept gives the trace it gives without them.
TEST_F(TraceSymbolizer, KeptSymbolsGiveTheSameTrace) {
    write_bytes(dir_ / "raw.trace", raw_trace());
    finalize_trace(dir_ / "raw.trace", dir_ / "plain.trace", kFakeTree);
    const SymbolCache cache{dir_ / "symbols", {}};
    for (const char* name : {"cold.trace", "warm.trace"}) {
        finalize_trace(dir_ / "raw.trace", dir_ / name, kFakeTree, {}, {}, cache);
        EXPECT_EQ(read_file(dir_ / name), read_file(dir_ / "plain.trace")) << name;
    }
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "symbols"), fs::directory_iterator()), 1);
}

// The recorder never changes in the build cache: its lookups are read back
// under its key and its DWARF is not read again, whatever the file now holds
// (here: another program). Another key reads it again.
TEST_F(TraceSymbolizer, FixedBinaryLookupsAreReadBackUnderItsKey) {
    const fs::path binary = dir_ / "recorder";
    fs::copy_file(kLibraryFixture, binary);
    write_bytes(dir_ / "raw.trace", raw_trace(binary.string()));
    finalize_trace(dir_ / "raw.trace", dir_ / "first.trace", kFakeTree, {}, {},
                   {{}, {{binary, "key-1"}}});
    ASSERT_TRUE(fs::exists(fixed_binary_symbols_file(binary)));
    fs::copy_file("/proc/self/exe", binary, fs::copy_options::overwrite_existing);
    finalize_trace(dir_ / "raw.trace", dir_ / "kept.trace", kFakeTree, {}, {},
                   {{}, {{binary, "key-1"}}});
    EXPECT_EQ(read_file(dir_ / "kept.trace"), read_file(dir_ / "first.trace"));
    finalize_trace(dir_ / "raw.trace", dir_ / "rebuilt.trace", kFakeTree, {}, {},
                   {{}, {{binary, "key-2"}}});
    const trace::TraceInfo info = info_of(read_all(dir_ / "rebuilt.trace"));
    const auto* frame = info.frame(nested_);
    EXPECT_TRUE(frame == nullptr || frame->empty() || frame->front().function != "inlined_leaf");
}

// Other modules are kept under their path, size and modification time: a
// changed file is read again, into a file of its own.
TEST_F(TraceSymbolizer, ChangedModuleIsReadAgain) {
    const fs::path binary = dir_ / "program";
    fs::copy_file(kLibraryFixture, binary);
    write_bytes(dir_ / "raw.trace", raw_trace(binary.string()));
    const SymbolCache cache{dir_ / "symbols", {}};
    finalize_trace(dir_ / "raw.trace", dir_ / "first.trace", kFakeTree, {}, {}, cache);
    fs::last_write_time(binary, fs::last_write_time(binary) - std::chrono::hours(1));
    finalize_trace(dir_ / "raw.trace", dir_ / "second.trace", kFakeTree, {}, {}, cache);
    EXPECT_EQ(read_file(dir_ / "second.trace"), read_file(dir_ / "first.trace"));
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "symbols"), fs::directory_iterator()), 2);
}

// A kept file that is not one (cut short, overwritten, a directory) is no
// file: the DWARF is read and the file written anew.
TEST_F(TraceSymbolizer, CorruptKeptSymbolsAreRebuilt) {
    const fs::path binary = dir_ / "recorder";
    fs::copy_file(kLibraryFixture, binary);
    write_bytes(dir_ / "raw.trace", raw_trace(binary.string()));
    const SymbolCache cache{{}, {{binary, "key"}}};
    finalize_trace(dir_ / "raw.trace", dir_ / "plain.trace", kFakeTree);
    const fs::path kept = fixed_binary_symbols_file(binary);
    finalize_trace(dir_ / "raw.trace", dir_ / "first.trace", kFakeTree, {}, {}, cache);
    const std::string good = read_file(kept);
    ASSERT_FALSE(good.empty());
    const std::vector<std::string> corrupt = {"",
                                              "garbage",
                                              good.substr(0, good.size() / 2),
                                              good + "x",
                                              std::string(good.size(), '\xff'),
                                              good.substr(0, 30) + std::string(40, '\xff')};
    for (const std::string& bytes : corrupt) {
        std::ofstream(kept, std::ios::binary | std::ios::trunc) << bytes;
        finalize_trace(dir_ / "raw.trace", dir_ / "final.trace", kFakeTree, {}, {}, cache);
        EXPECT_EQ(read_file(dir_ / "final.trace"), read_file(dir_ / "plain.trace"));
        EXPECT_EQ(read_file(kept), good);
    }
    fs::remove(kept);
    fs::create_directory(kept);
    finalize_trace(dir_ / "raw.trace", dir_ / "final.trace", kFakeTree, {}, {}, cache);
    EXPECT_EQ(read_file(dir_ / "final.trace"), read_file(dir_ / "plain.trace"));
}

TEST(PortablePath, ReplacesAWholeDirectoryAtTheStartOrAfterAQuote) {
    const std::vector<PortablePrefix> p = {{"/home/me/.cache/tlsheap/", "<cache>"},
                                           {"/home/me/tlsheap", "<tlsheap>"}};
    EXPECT_EQ(portable_path("/home/me/.cache/tlsheap/builds/rec-1/r", p), "<cache>/builds/rec-1/r");
    EXPECT_EQ(portable_path("/home/me/.cache/tlsheap", p), "<cache>");
    // MBEDTLS_CONFIG_FILE's value is a quoted path.
    EXPECT_EQ(portable_path("\"/home/me/.cache/tlsheap/builds/lib-1/effective_config.h\"", p),
              "\"<cache>/builds/lib-1/effective_config.h\"");
    EXPECT_EQ(portable_path("/home/me/tlsheap/src/recorder/recorder_main.cpp", p),
              "<tlsheap>/src/recorder/recorder_main.cpp");
    // Not a directory of its own, not at the start, not listed: unchanged.
    for (const std::string same : {"/home/me/tlsheap-old/x.cpp", "/usr/home/me/tlsheap/x.cpp",
                                   "/lib/x86_64-linux-gnu/libc.so.6", "", "3.6.6"}) {
        EXPECT_EQ(portable_path(same, p), same);
    }
    // A cache inside the checkout (build/release/test-cache) is the cache,
    // whatever the order.
    const std::vector<PortablePrefix> nested = {{"/src/t", "<tlsheap>"},
                                                {"/src/t/build/test-cache", "<cache>"}};
    EXPECT_EQ(portable_path("/src/t/build/test-cache/builds/x", nested), "<cache>/builds/x");
    EXPECT_EQ(portable_path("/src/t/scenarios/pki", nested), "<tlsheap>/scenarios/pki");
}

TEST_F(TraceSymbolizer, PathsOfThisMachineAreWrittenPortably) {
    // The module and the frames' files under the fixture's directories, a
    // meta value and a macro naming a file in the "cache".
    testing::TraceBuilder b;
    const fs::path cache = dir_ / "cache";
    b.meta("pointer_size", "8").meta("mbedtls.tree", (cache / "mbedtls" / "3.6").string());
    auto bytes = b.unfinished();
    trace::RecordEncoder()
        .string("MBEDTLS_CONFIG_FILE")
        .string("\"" + (cache / "builds" / "effective_config.h").string() + "\"")
        .emit(trace::Tag::Config, bytes);
    // The usual records after these, without their End (its checksum covers
    // the whole file): a new End instead.
    write_bytes(dir_ / "usual.trace", raw_trace());
    const auto usual = raw_trace();
    const std::size_t end = read_all(dir_ / "usual.trace").back().offset;
    bytes.insert(bytes.end(), usual.begin() + trace::kHeaderSize,
                 usual.begin() + static_cast<std::ptrdiff_t>(end));
    trace::encode_end(bytes, 5);
    write_bytes(dir_ / "raw.trace", bytes);
    const fs::path library_dir = fs::path(kLibraryFixture).parent_path();
    finalize_trace(dir_ / "raw.trace", dir_ / "final.trace", {}, {},
                   {{cache, "<cache>"}, {library_dir, "<build>"}, {kFakeTree, "<tree>"}});
    bool complete = false;
    const auto records = read_all(dir_ / "final.trace", &complete);
    EXPECT_TRUE(complete);
    const trace::TraceInfo info = info_of(records);
    EXPECT_EQ(info.meta("mbedtls.tree"), "<cache>/mbedtls/3.6");
    std::string config_file, module;
    for (const trace::Record& r : records) {
        if (r.tag == trace::Tag::Config) {
            config_file = r.value;
        } else if (r.tag == trace::Tag::Module) {
            module = r.key;
        }
    }
    EXPECT_EQ(config_file, "\"<cache>/builds/effective_config.h\"");
    EXPECT_EQ(module, "<build>/" + fs::path(kLibraryFixture).filename().string());
    const auto* frame = info.frame(noinline_);
    ASSERT_NE(frame, nullptr);
    EXPECT_EQ(frame->front().file, "<tree>/library/call_sites.c");
    EXPECT_EQ(frame->front().line, line_of("static_noinline_call"));
}

TEST_F(TraceSymbolizer, TruncatedRawTraceStaysTruncated) {
    auto bytes = raw_trace();
    bytes.resize(bytes.size() - 12); // into the last free and End
    write_bytes(dir_ / "raw.trace", bytes);
    const FinalizeResult result =
        finalize_trace(dir_ / "raw.trace", dir_ / "final.trace", kFakeTree);
    EXPECT_TRUE(result.truncated);
    EXPECT_EQ(result.resolved, 2u);
    bool complete = true;
    bool truncated = false;
    const auto records = read_all(dir_ / "final.trace", &complete, &truncated);
    EXPECT_FALSE(complete);
    EXPECT_TRUE(truncated);
    const trace::TraceInfo info = info_of(records);
    EXPECT_TRUE(info.symbolized());
    EXPECT_NE(info.frame(nested_), nullptr);
}

TEST_F(TraceSymbolizer, UnreadableInputAndUnwritableOutputThrow) {
    EXPECT_THROW(finalize_trace(dir_ / "missing.trace", dir_ / "final.trace", kFakeTree),
                 trace::TraceError);
    write_bytes(dir_ / "raw.trace", raw_trace());
    EXPECT_THROW(
        finalize_trace(dir_ / "raw.trace", dir_ / "no-such-dir" / "final.trace", kFakeTree),
        trace::TraceError);
    EXPECT_FALSE(fs::exists(dir_ / "no-such-dir"));
}

// A write that fails part way (here: the file size limit, as a full disk
// would) leaves neither the temporary nor a partial trace behind.
TEST_F(TraceSymbolizer, FailedWriteLeavesNoTemporary) {
    write_bytes(dir_ / "raw.trace", raw_trace());
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit old_limit{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    rlimit small = old_limit;
    small.rlim_cur = 16;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    EXPECT_THROW(finalize_trace(dir_ / "raw.trace", dir_ / "final.trace", kFakeTree),
                 trace::TraceError);
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);
    for (const auto& entry : fs::directory_iterator(dir_)) {
        EXPECT_EQ(entry.path().filename().string().find("final.trace"), std::string::npos)
            << "left behind: " << entry.path();
    }
}

// The trace is renamed into place: over a symlink or a device that would
// replace the link or the node itself, so those are refused untouched.
TEST_F(TraceSymbolizer, OutputThatIsNotARegularFileIsNotReplaced) {
    write_bytes(dir_ / "raw.trace", raw_trace());
    write_bytes(dir_ / "target.trace", {1, 2, 3});
    fs::create_symlink(dir_ / "target.trace", dir_ / "link.trace");
    ASSERT_EQ(::mkfifo((dir_ / "fifo.trace").c_str(), 0600), 0);
    for (const char* name : {"link.trace", "fifo.trace"}) {
        try {
            finalize_trace(dir_ / "raw.trace", dir_ / name, kFakeTree);
            ADD_FAILURE() << name << " was replaced";
        } catch (const trace::TraceError& e) {
            EXPECT_NE(std::string(e.what()).find("is not a regular file"), std::string::npos)
                << e.what();
        }
    }
    EXPECT_TRUE(fs::is_symlink(dir_ / "link.trace"));
    EXPECT_TRUE(fs::is_fifo(dir_ / "fifo.trace"));
    EXPECT_EQ(fs::file_size(dir_ / "target.trace"), 3u);
    for (const auto& entry : fs::directory_iterator(dir_)) {
        EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos)
            << "left behind: " << entry.path();
    }
}

} // namespace
} // namespace tlsheap::symbolize
