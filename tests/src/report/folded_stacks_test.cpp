// Folded stacks (trace export --format folded / folded-allocated): a hand-made
// trace whose folded lines are worked out below, and a real recording whose
// lines must add up to its live peak and end at each stack's call site.
#include "../../replay/trace_builder.h"
#include "report/folded_stacks.h"

#include <gtest/gtest.h>
#include <numeric>
#include <sstream>

namespace tlsheap::report {
namespace {

replay::ReplayResult replayed(const std::vector<unsigned char>& bytes) {
    auto reader = trace::TraceReader::from_bytes(bytes);
    replay::ReplayOptions options;
    options.series_points = 1;
    options.stack_tables = true;
    return replay::replay_trace(*reader, options);
}

std::uint64_t total(const std::map<std::string, std::uint64_t>& lines) {
    return std::accumulate(lines.begin(), lines.end(), std::uint64_t{0},
                           [](std::uint64_t sum, const auto& line) { return sum + line.second; });
}

// Stack 1: the recorder's shim (outside mbedTLS), the platform layer, a frame
// with an inlined call site whose name a hostile trace filled with ';' and a
// line break, then main. Stack 2: the shim and an address no Frame names (no
// call site: every frame kept). Stack 3 is never described. Stack 4 folds to
// stack 1's frames.
std::vector<unsigned char> hand_made_trace() {
    tlsheap::testing::TraceBuilder b;
    b.frame(0x10, {"tlsheap_calloc_shim"}, false)
        .frame(0x20, {"mbedtls_calloc"})
        .frame(0x30, {"ssl_setup;inner\nname", "mbedtls_ssl_setup"})
        .frame(0x40, {"main"}, false)
        .stack(1, std::vector<std::uint64_t>{0x10, 0x20, 0x30, 0x40})
        .stack(2, std::vector<std::uint64_t>{0x10, 0x999})
        .stack(4, std::vector<std::uint64_t>{0x10, 0x20, 0x30, 0x40});
    b.alloc(100, 0x1000, 1);
    b.alloc(50, 0x2000, 2);
    b.alloc(30, 0x3000, 3); // live 180: the peak
    b.free(0x2000);
    b.alloc(10, 0x4000, 1); // live 140
    b.alloc(5, 0x5000, 4);  // live 145
    return b.finish();
}

TEST(FoldedStacks, HandMadeTraceFoldsToItsCallSitesWithSafeNames) {
    const replay::ReplayResult r = replayed(hand_made_trace());
    ASSERT_EQ(r.live_peak.bytes, 180u);
    const std::string setup = "main;mbedtls_ssl_setup;ssl_setup?inner?name";
    EXPECT_EQ(folded_frames(r.info, 1),
              (std::vector<std::string>{"main", "mbedtls_ssl_setup", "ssl_setup?inner?name"}));
    EXPECT_EQ(folded_frames(r.info, 2), (std::vector<std::string>{"0x999", "tlsheap_calloc_shim"}));
    EXPECT_EQ(folded_frames(r.info, 3), std::vector<std::string>{"[unknown]"});

    const auto at_peak = folded_lines(r.info, r.stacks_alive_at_peak);
    EXPECT_EQ(at_peak, (std::map<std::string, std::uint64_t>{
                           {setup, 100}, {"0x999;tlsheap_calloc_shim", 50}, {"[unknown]", 30}}));
    const auto allocated = folded_lines(r.info, r.stacks_allocated);
    EXPECT_EQ(allocated, (std::map<std::string, std::uint64_t>{
                             {setup, 115}, {"0x999;tlsheap_calloc_shim", 50}, {"[unknown]", 30}}));

    std::ostringstream text;
    write_folded(text, at_peak);
    EXPECT_EQ(text.str(), "0x999;tlsheap_calloc_shim 50\n[unknown] 30\n" + setup + " 100\n");
}

// A real recording: the lines add up to the live peak (and to every byte
// allocated), each ends at its stack's call site, and the frames above it are
// the stack's own levels as `trace show` describes them, outermost first.
TEST(FoldedStacks, RecordedHandshakeAddsUpToItsLivePeak) {
    trace::TraceReader reader(std::string(TLSHEAP_SOURCE_DIR) +
                              "/traces/tls12-ecdhe-rsa-chain.trace");
    replay::ReplayOptions options;
    options.series_points = 1;
    options.stack_tables = true;
    const replay::ReplayResult r = replay::replay_trace(reader, options);
    ASSERT_TRUE(r.info.symbolized());
    ASSERT_GT(r.stacks_alive_at_peak.size(), 5u);
    EXPECT_EQ(total(folded_lines(r.info, r.stacks_alive_at_peak)), r.live_peak.bytes);
    EXPECT_EQ(total(folded_lines(r.info, r.stacks_allocated)), r.bytes_allocated);
    for (const auto* stacks : {&r.stacks_alive_at_peak, &r.stacks_allocated}) {
        for (const replay::StackBytes& entry : *stacks) {
            SCOPED_TRACE("stack " + std::to_string(entry.stack));
            const std::vector<std::string> frames = folded_frames(r.info, entry.stack);
            ASSERT_FALSE(frames.empty());
            EXPECT_EQ(frames.back(), r.info.call_site(entry.stack).function);
            // describe_stack: "function (file:line)", innermost first.
            std::vector<std::string> described;
            for (const std::string& level : r.info.describe_stack(entry.stack)) {
                described.push_back(level.substr(0, level.find(" (")));
            }
            const auto site = std::find(described.begin(), described.end(), frames.back());
            ASSERT_NE(site, described.end());
            EXPECT_EQ(frames, std::vector<std::string>(std::make_reverse_iterator(described.end()),
                                                       std::make_reverse_iterator(site)));
        }
    }
}

// Every other replay (the min pool search runs ~17) skips the per-stack maps.
TEST(FoldedStacks, StackTablesOnlyWhenAskedFor) {
    trace::TraceReader reader(std::string(TLSHEAP_SOURCE_DIR) +
                              "/traces/tls12-ecdhe-rsa-chain.trace");
    replay::ReplayOptions options;
    options.series_points = 1;
    const replay::ReplayResult r = replay::replay_trace(reader, options);
    EXPECT_GT(r.live_peak.bytes, 0u);
    EXPECT_FALSE(r.alive_at_peak.empty());
    EXPECT_TRUE(r.stacks_alive_at_peak.empty());
    EXPECT_TRUE(r.stacks_allocated.empty());
}

} // namespace
} // namespace tlsheap::report
