// --app-heap: the spec's syntax, and where AppHeapSource puts the
// application's blocks in a stream of two reconnect cycles; the connection
// subset (ConnectionSubsetSource) and the costs it gives, on a trace whose
// figures are worked out by hand.
#include "tlsheap/app_heap.h"
#include "tlsheap/connection_costs.h"
#include "tlsheap/connection_subset.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/trace_walker.h"
#include "trace_builder.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <memory>
#include <vector>

namespace tlsheap::replay {
namespace {

using testing::TraceBuilder;
using trace::Phase;

std::unique_ptr<RecordSource> source_of(const std::vector<unsigned char>& bytes) {
    struct Owning final : RecordSource {
        explicit Owning(std::unique_ptr<trace::TraceReader> r) : reader(std::move(r)) {}
        bool next(trace::Record& out) override { return reader->next(out); }
        bool complete() const override { return reader->complete(); }
        bool truncated() const override { return reader->truncated(); }
        std::string truncation_message() const override { return reader->truncation_message(); }
        std::unique_ptr<trace::TraceReader> reader;
    };
    return std::make_unique<Owning>(trace::TraceReader::from_bytes(bytes));
}

TEST(AppHeapSpec, ParsesHoldAndBetween) {
    const AppHeapSpec spec = AppHeapSpec::parse("hold=8192,4096;between=1500,700");
    EXPECT_EQ(spec.hold, (std::vector<std::uint64_t>{8192, 4096}));
    EXPECT_EQ(spec.between, (std::vector<std::uint64_t>{1500, 700}));
    EXPECT_EQ(spec.text(), "hold=8192,4096;between=1500,700");
    EXPECT_EQ(AppHeapSpec::parse("between=16").text(), "between=16");
    EXPECT_EQ(AppHeapSpec::parse("between=16;hold=1").text(), "hold=1;between=16");
}

TEST(AppHeapSpec, RefusesWhatDoesNotParse) {
    for (const char* bad :
         {"", "hold", "hold=", "hold=0", "hold=-4", "hold=12x", "hold=1,,2", "keep=100",
          "hold=1;hold=2", "hold=1;", "hold=1073741825", "hold=99999999999999999999999"}) {
        EXPECT_THROW(AppHeapSpec::parse(bad), AppHeapError) << bad;
    }
    std::string many = "hold=1";
    for (int i = 0; i < 64; ++i) {
        many += ",1";
    }
    EXPECT_THROW(AppHeapSpec::parse(many), AppHeapError);
    try {
        AppHeapSpec::parse("hold=12x");
    } catch (const AppHeapError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "--app-heap hold: a block size is a number of bytes from 1 to 1073741824, "
                  "not '12x'");
    }
}

// The shared part allocates 100 bytes; two reconnect cycles of one
// connection each allocate 1000 and free it; the shared part frees its 100.
std::vector<unsigned char> two_cycles() {
    TraceBuilder b;
    b.meta("pointer_size", "4");
    b.connection(0).phase(Phase::Setup);
    b.alloc(100, 0x1000);
    for (std::uint32_t c = 1; c <= 2; ++c) {
        b.connection(c).phase(Phase::Setup);
        b.alloc(1000, 0x2000);
        b.phase(Phase::Handshake).phase(Phase::Teardown);
        b.free(0x2000);
    }
    b.connection(0).phase(Phase::Teardown);
    b.free(0x1000);
    return b.finish();
}

struct Event {
    bool alloc;
    std::uint64_t size;
    std::uint32_t connection;
    std::uint64_t seq;
    std::uint64_t alloc_seq;
};

std::vector<Event> events(RecordSource& source) {
    struct Hooks final : trace::WalkerHooks {
        explicit Hooks(const trace::TraceWalker& w) : walker(w) {}
        void on_alloc(const trace::Record& r, const trace::LiveAllocation* b,
                      std::uint32_t) override {
            out.push_back({true, r.size * r.count, b ? b->connection : 99, r.seq, 0});
        }
        void on_free(const trace::Record& r, trace::FreeKind kind, const trace::LiveAllocation* b,
                     std::uint32_t) override {
            ASSERT_EQ(kind, trace::FreeKind::Known) << "free of event " << r.seq;
            out.push_back({false, b->size, b->connection, r.seq, r.alloc_seq});
        }
        const trace::TraceWalker& walker;
        std::vector<Event> out;
    };
    trace::TraceWalker walker;
    Hooks hooks(walker);
    walker.walk(source, hooks);
    return hooks.out;
}

TEST(AppHeapSource, HoldBeforeTheFirstConnectionBetweenAcrossOneCycle) {
    auto source =
        make_app_heap_source(AppHeapSpec::parse("hold=64;between=32,16"), source_of(two_cycles()));
    const std::vector<Event> e = events(*source);
    // shared 100, hold 64, conn 1's 1000 and its free, between 32 and 16
    // (after cycle 1, before cycle 2), conn 2's 1000 and its free, shared
    // free, then the application lets go: between 32, 16, hold 64.
    const std::vector<std::pair<bool, std::uint64_t>> expected = {
        {true, 100},  {true, 64},    {true, 1000}, {false, 1000}, {true, 32},  {true, 16},
        {true, 1000}, {false, 1000}, {false, 100}, {false, 32},   {false, 16}, {false, 64}};
    ASSERT_EQ(e.size(), expected.size());
    for (std::size_t i = 0; i < e.size(); ++i) {
        EXPECT_EQ(e[i].alloc, expected[i].first) << i;
        EXPECT_EQ(e[i].size, expected[i].second) << i;
        EXPECT_EQ(e[i].seq, i + 1) << "renumbered";
        const bool application = e[i].size < 100;
        if (application) {
            EXPECT_EQ(e[i].connection, trace::kSharedConnection) << i;
        }
    }
    EXPECT_EQ(e[2].connection, 1u);
    EXPECT_EQ(e[6].connection, 2u);
    EXPECT_EQ(e[3].alloc_seq, 3u); // conn 1's free names its allocation by the new number
}

TEST(AppHeapSource, ReplaysWithTheApplicationsCallSites) {
    auto source =
        make_app_heap_source(AppHeapSpec::parse("hold=64;between=32"), source_of(two_cycles()));
    ReplayOptions options;
    options.models = {ModelSpec::parse("ideal")};
    const ReplayResult r = replay_trace(*source, options);
    // Peak: 100 + 64 + 1000 + 32 during cycle 2.
    EXPECT_EQ(r.live_peak.bytes, 1196u);
    EXPECT_TRUE(r.leaks.empty());
    EXPECT_EQ(r.info.meta(trace::meta::kAppHeap), "hold=64;between=32");
    std::vector<std::string> sites;
    for (const SiteBytes& s : r.alive_at_peak) {
        sites.push_back(s.site);
    }
    EXPECT_NE(std::find(sites.begin(), sites.end(), "application: hold"), sites.end());
    EXPECT_NE(std::find(sites.begin(), sites.end(), "application: between"), sites.end());
}

// Two concurrent connections: shared 100; conn 1 allocates 1000, conn 2
// 700, both alive together; conn 2's code frees conn 1's block (owned by 1).
std::vector<unsigned char> two_together() {
    TraceBuilder b;
    b.meta("pointer_size", "4");
    b.connection(0).phase(Phase::Setup);
    b.alloc(100, 0x1000);
    b.connection(1).phase(Phase::Setup);
    b.alloc(1000, 0x2000);
    b.connection(2).phase(Phase::Setup);
    b.alloc(700, 0x3000);
    b.free(0x2000);
    b.alloc(50, 0x4000);
    b.free(0x4000);
    b.free(0x3000);
    b.connection(0);
    b.free(0x1000);
    return b.finish();
}

TEST(ConnectionSubset, KeepsTheSharedPartAndTheFirstKConnections) {
    ConnectionSubsetSource one(source_of(two_together()), 1);
    const std::vector<Event> e = events(one);
    ASSERT_EQ(e.size(), 4u); // 100, 1000, free 1000 (by conn 2's code), free 100
    EXPECT_EQ(e[1].size, 1000u);
    EXPECT_FALSE(e[2].alloc);
    EXPECT_EQ(e[2].alloc_seq, 2u);
    EXPECT_EQ(e[3].seq, 4u);
}

TEST(ConnectionCosts, PrefixPeaksAndMarginalCostByHand) {
    const std::vector<unsigned char> bytes = two_together();
    const ConnectionCosts c =
        measure_connection_costs([&] { return source_of(bytes); }, {ModelSpec::parse("ideal")});
    EXPECT_EQ(c.connections, 2u);
    EXPECT_EQ(c.most_open, 2u);
    EXPECT_EQ(c.shared_peak, 100u);
    EXPECT_EQ(c.shared_steady, 100u);
    EXPECT_EQ(c.own_peak, (std::vector<std::uint64_t>{1000, 750})); // 700 + 50
    ASSERT_EQ(c.prefixes.size(), 3u);
    EXPECT_EQ(c.prefixes[0].live_peak, 100u);
    EXPECT_EQ(c.prefixes[1].live_peak, 1100u);
    EXPECT_EQ(c.prefixes[2].live_peak, 1800u); // 100 + 1000 + 700
    EXPECT_EQ(marginal_live(c, 1), 1000);
    EXPECT_EQ(marginal_live(c, 2), 700);
    // The ideal model's footprint of each replayed prefix is its live peak.
    for (const ConnectionPrefix& p : c.prefixes) {
        ASSERT_EQ(p.footprint.size(), 1u);
        EXPECT_EQ(p.footprint[0], p.live_peak);
    }
}

} // namespace
} // namespace tlsheap::replay
