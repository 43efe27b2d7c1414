// The min-pool search over the allocation stream kept in memory gives what
// the search gave when every one of its replays read the trace file again
// through the replay engine, on every committed sample trace and model; the
// trace is decoded once; and a hostile trace cannot make the stream hold
// more than a few bytes per event it has.
#include "../bench/repeated_trace.h"
#include "committed_traces.h"
#include "tlsheap/allocation_stream.h"
#include "tlsheap/bare_model_replay.h"
#include "tlsheap/connection_costs.h"
#include "tlsheap/lowest_free_index.h"
#include "tlsheap/min_pool.h"
#include "tlsheap/profile_trace.h"
#include "tlsheap/record_source.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/walker_moment.h"
#include "trace_builder.h"
#include "transforms/transform_trace_builder.h"

#include <algorithm>
#include <filesystem>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace tlsheap::replay {
namespace {

using tlsheap::testing::OwnedTraceSource;
using tlsheap::testing::TraceBuilder;

// `tlsheap replay` and `tlsheap minpool` without --model.
const std::vector<ModelSpec>& default_models() {
    static const std::vector<ModelSpec> models = {
        ModelSpec::parse("mbedtls-pool"), ModelSpec::parse("freertos-heap4"),
        ModelSpec::parse("esp-tlsf"), ModelSpec::parse("umm"), ModelSpec::parse("ideal")};
    return models;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
    std::string n = info.param;
    std::replace(n.begin(), n.end(), '-', '_');
    return n;
}

// One replay of the search as it was made before the stream: the source
// opened afresh and read through the replay engine with the one model.
BareModelRun replay_through_engine(const SourceFactory& open, const ModelSpec& spec,
                                   std::optional<std::uint64_t> pool) {
    const std::unique_ptr<RecordSource> source = open();
    ReplayOptions options;
    options.models = {spec};
    options.pool_size = pool;
    options.heap_verdicts = false;
    options.series_points = 1;
    options.max_findings = 1;
    const ReplayResult result = replay_trace(*source, options);
    const ModelRun& run = result.models.front();
    BareModelRun b;
    b.name = run.name;
    b.description = run.description;
    b.failure_count = run.failure_count;
    if (!run.failures.empty()) {
        b.first_failure = run.failures.front();
    }
    b.footprint = run.footprint;
    b.placement_independent_of_pool_end = run.placement_independent_of_pool_end;
    b.min_pool_one_pass = run.min_pool_one_pass;
    return b;
}

// The search with every replay made by the engine from `open`.
std::vector<MinPoolResult> min_pools_through_engine(const SourceFactory& open,
                                                    const std::vector<ModelSpec>& models) {
    ReplayResult whole;
    {
        const std::unique_ptr<RecordSource> source = open();
        whole = replay_trace(*source, ReplayOptions{});
    }
    return find_min_pools(
        [&open](const ModelSpec& spec, std::optional<std::uint64_t> pool) {
            return replay_through_engine(open, spec, pool);
        },
        whole.info.pointer_size(), whole.live_peak.bytes, models);
}

void expect_same_moment(const Moment& a, const Moment& b, const std::string& what) {
    EXPECT_EQ(a.seq, b.seq) << what;
    EXPECT_EQ(a.time_ns, b.time_ns) << what;
    EXPECT_EQ(a.phase, b.phase) << what;
    EXPECT_EQ(a.state, b.state) << what;
    EXPECT_EQ(a.stack, b.stack) << what;
    EXPECT_EQ(a.connection, b.connection) << what;
}

void expect_same_failure(const std::optional<ModelFailure>& a, const std::optional<ModelFailure>& b,
                         const std::string& what) {
    ASSERT_EQ(a.has_value(), b.has_value()) << what;
    if (b) {
        EXPECT_EQ(a->size, b->size) << what;
        expect_same_moment(a->at, b->at, what);
    }
}

void expect_same_results(const std::vector<MinPoolResult>& from_stream,
                         const std::vector<MinPoolResult>& through_engine) {
    ASSERT_EQ(from_stream.size(), through_engine.size());
    for (std::size_t i = 0; i < from_stream.size(); ++i) {
        const MinPoolResult& s = from_stream[i];
        const MinPoolResult& e = through_engine[i];
        const std::string what = e.model;
        EXPECT_EQ(s.model, e.model);
        EXPECT_EQ(s.description, e.description) << what;
        EXPECT_EQ(s.min_pool, e.min_pool) << what;
        EXPECT_EQ(s.placement_bound, e.placement_bound) << what;
        EXPECT_EQ(s.granularity, e.granularity) << what;
        EXPECT_EQ(s.method, e.method) << what;
        EXPECT_EQ(s.replays, e.replays) << what;
        EXPECT_EQ(s.runs_at_min_pool, e.runs_at_min_pool) << what;
        EXPECT_EQ(s.live_peak, e.live_peak) << what;
        expect_same_failure(s.fails_below, e.fails_below, what);
    }
}

class StreamSampleTrace : public ::testing::TestWithParam<std::string> {};

TEST_P(StreamSampleTrace, MinPoolsAreThoseOfReplaysFromTheFile) {
    const std::string path = path_of(GetParam());
    const SourceFactory open = [path] { return std::make_unique<TraceFileSource>(path); };
    const std::vector<MinPoolResult> from_stream = find_min_pools(open, default_models());
    expect_same_results(from_stream, min_pools_through_engine(open, default_models()));
    for (const MinPoolResult& m : from_stream) {
        EXPECT_GT(m.replays, 2u) << m.model; // the stream was replayed, not read again
    }
}

// A failure far from the min pool (in half the live peak) is reported where
// the engine reports it: the stream's moments are exact anywhere, not only
// near the answer. Unbounded, the bare replay's figures are the engine's.
TEST_P(StreamSampleTrace, FirstFailureInASmallPoolIsTheEnginesOwn) {
    const std::string path = path_of(GetParam());
    const SourceFactory open = [path] { return std::make_unique<TraceFileSource>(path); };
    TraceFileSource source(path);
    const AllocationStream stream = read_allocation_stream(source);
    for (const ModelSpec& spec : default_models()) {
        // A pool the model accepts: its smallest, or half the live peak.
        ModelContext context;
        context.pointer_size = stream.pointer_size();
        const std::uint64_t pool =
            std::max(make_model(spec, context)->smallest_pool(), stream.live_peak() / 2);
        const BareModelRun bare = replay_bare_model(stream, spec, pool);
        const BareModelRun engine = replay_through_engine(open, spec, pool);
        // In a pool the bare replay stops at the first failure: only
        // whether it runs and where it first fails are to compare.
        EXPECT_EQ(bare.runs(), engine.runs()) << spec.name;
        expect_same_failure(bare.first_failure, engine.first_failure, spec.name);
        const BareModelRun unbounded = replay_bare_model(stream, spec, std::nullopt);
        const BareModelRun unbounded_engine = replay_through_engine(open, spec, std::nullopt);
        EXPECT_EQ(unbounded.failure_count, unbounded_engine.failure_count) << spec.name;
        EXPECT_EQ(unbounded.footprint, unbounded_engine.footprint) << spec.name;
        EXPECT_EQ(unbounded.min_pool_one_pass, unbounded_engine.min_pool_one_pass) << spec.name;
        EXPECT_EQ(unbounded.description, unbounded_engine.description) << spec.name;
    }
}

// Each prefix of connections (shared part + connections 1..k) replayed bare
// over the stream gives the footprints of its ConnectionSubsetSource read
// through the engine.
TEST_P(StreamSampleTrace, ConnectionPrefixesAreThoseOfTheSubsetStreams) {
    const std::string path = path_of(GetParam());
    const SourceFactory open = [path] { return std::make_unique<TraceFileSource>(path); };
    TraceFileSource source(path);
    const AllocationStream stream = read_allocation_stream(source);
    const ConnectionCosts from_stream =
        measure_connection_costs(count_live_by_connection(open), stream, default_models());
    const ConnectionCosts through_engine = measure_connection_costs(open, default_models());
    ASSERT_EQ(from_stream.prefixes.size(), through_engine.prefixes.size());
    for (std::size_t k = 0; k < through_engine.prefixes.size(); ++k) {
        EXPECT_EQ(from_stream.prefixes[k].live_peak, through_engine.prefixes[k].live_peak) << k;
        EXPECT_EQ(from_stream.prefixes[k].footprint, through_engine.prefixes[k].footprint) << k;
    }
}

// What the stream costs: 12 bytes per event stored and 4 per allocation,
// plus the anchors where the context changes and vector slack (header
// comment).
TEST_P(StreamSampleTrace, HoldsAFewBytesPerEvent) {
    TraceFileSource source(path_of(GetParam()));
    const AllocationStream stream = read_allocation_stream(source);
    ASSERT_GT(stream.event_count(), 0u);
    EXPECT_LE(stream.memory_bytes(), 2 * 24 * stream.event_count());
}

INSTANTIATE_TEST_SUITE_P(Committed, StreamSampleTrace, ::testing::ValuesIn(sample_traces()),
                         test_name);

// A source factory that counts how often the trace is opened.
struct CountingFactory {
    std::string path;
    std::shared_ptr<int> opened = std::make_shared<int>(0);
    SourceFactory factory() const {
        return [path = path, opened = opened] {
            ++*opened;
            return std::make_unique<TraceFileSource>(path);
        };
    }
};

TEST(AllocationStream, MinPoolSearchDecodesTheTraceOnce) {
    const CountingFactory counting{path_of("tls12-ecdhe-ecdsa-p256")};
    const auto results = find_min_pools(counting.factory(), default_models());
    ASSERT_EQ(results.size(), default_models().size());
    EXPECT_EQ(*counting.opened, 1);
}

// Once per walk: one, or two beside each other (replay_engine.h).
TEST(AllocationStream, ProfileOfOneConnectionDecodesTheTraceOncePerWalk) {
    for (const Walks walks : {Walks::One, Walks::TwoBesideEachOther}) {
        const CountingFactory counting{path_of("tls12-ecdhe-ecdsa-p256")};
        ReplayOptions options;
        options.models = default_models();
        const ReplayResult result = profile_trace(counting.factory(), options, walks);
        EXPECT_EQ(result.min_pools.size(), default_models().size());
        EXPECT_EQ(*counting.opened, walks == Walks::One ? 1 : 2);
    }
}

// Concurrent connections: the live figures per connection are counted in
// the same walk, and no prefix replays the trace; the costs are those the
// engine gives, walking the trace for them and replaying each prefix.
TEST(AllocationStream, ProfileOfConcurrentConnectionsDecodesTheTraceOnce) {
    const CountingFactory counting{path_of("tls12-ecdhe-ecdsa-p256-2x2-together")};
    ReplayOptions options;
    options.models = default_models();
    const ReplayResult result = profile_trace(counting.factory(), options, Walks::One);
    EXPECT_EQ(*counting.opened, 1);
    ASSERT_TRUE(result.connection_costs.has_value());
    const ConnectionCosts& costs = *result.connection_costs;
    ASSERT_GT(costs.prefixes.size(), 2u);
    EXPECT_FALSE(costs.prefixes[2].footprint.empty());
    const ConnectionCosts engine = measure_connection_costs(counting.factory(), default_models());
    EXPECT_EQ(costs.connections, engine.connections);
    EXPECT_EQ(costs.most_open, engine.most_open);
    EXPECT_EQ(costs.shared_peak, engine.shared_peak);
    EXPECT_EQ(costs.shared_steady, engine.shared_steady);
    EXPECT_EQ(costs.own_peak, engine.own_peak);
    ASSERT_EQ(costs.prefixes.size(), engine.prefixes.size());
    for (std::size_t k = 0; k < costs.prefixes.size(); ++k) {
        EXPECT_EQ(costs.prefixes[k].connections, engine.prefixes[k].connections) << k;
        EXPECT_EQ(costs.prefixes[k].live_peak, engine.prefixes[k].live_peak) << k;
        EXPECT_EQ(costs.prefixes[k].footprint, engine.prefixes[k].footprint) << k;
    }
}

// Requests of a TiB, calloc products that overflow, empty requests, frees of
// nothing known, and stack ids at the top of their range: the stream keeps
// one event per request the models serve and per free of one, never sized by
// a count, a size or an id; the search over it gives what the engine gives.
TEST(AllocationStream, HostileCountsAndIdsCostOnlyTheirEvents) {
    TraceBuilder b;
    b.meta("pointer_size", "4");
    constexpr unsigned kRounds = 1000;
    for (unsigned i = 0; i < kRounds; ++i) {
        b.calloc(1, std::uint64_t{1} << 40, 0x1000, 0xffffffffu);
        b.free(0x1000);
        b.calloc(std::uint64_t{1} << 33, std::uint64_t{1} << 33, 0x2000, 7); // overflows
        b.free(0x2000);
        b.calloc(std::uint64_t{1} << 62, 0, 0x3000, 1); // empty
        b.free(0x3000);
        b.free(0x7000000 + i * 16, 0); // never allocated
        b.calloc(3, 100, 0x4000, 0xfffffffeu);
        b.free(0x4000);
    }
    const std::vector<unsigned char> bytes = b.finish();
    const SourceFactory open = [bytes] { return OwnedTraceSource::from_bytes(bytes); };
    const std::unique_ptr<RecordSource> source = open();
    const AllocationStream stream = read_allocation_stream(*source);
    EXPECT_EQ(stream.event_count(), 4u * kRounds);
    EXPECT_EQ(stream.allocations(), 2u * kRounds);
    EXPECT_EQ(stream.large_sizes().size(), kRounds);
    EXPECT_LE(stream.block_capacity(), 2u);
    EXPECT_LE(stream.memory_bytes(), 2 * 32 * 9 * std::size_t{kRounds});
    const std::vector<ModelSpec> models = {ModelSpec::parse("ideal"),
                                           ModelSpec::parse("mbedtls-pool"),
                                           ModelSpec::parse("freertos-heap4")};
    expect_same_results(find_min_pools(stream, models), min_pools_through_engine(open, models));
}

// One allocation and its free, then an End record that claims more events
// than any trace holds.
std::vector<unsigned char> trace_claiming_too_many_events() {
    TraceBuilder b;
    b.meta("pointer_size", "4");
    b.alloc(100, 0x1000);
    b.free(0x1000);
    std::vector<unsigned char> bytes = b.unfinished();
    trace::encode_end(bytes, std::uint64_t{1} << 60);
    return bytes;
}

// The claim is refused while the stream is read; nothing was sized by it.
TEST(AllocationStream, ClaimedEventCountIsCheckedNotTrusted) {
    const std::unique_ptr<RecordSource> source =
        OwnedTraceSource::from_bytes(trace_claiming_too_many_events());
    EXPECT_THROW(read_allocation_stream(*source), trace::TraceError);
}

// The lowest index not in use, across the 64-index words it keeps them in,
// whatever order they were given back in.
TEST(LowestFreeIndex, TakesTheLowestGivenBack) {
    LowestFreeIndex indexes;
    for (std::uint32_t i = 0; i < 200; ++i) {
        ASSERT_EQ(indexes.take(), i);
    }
    for (const std::uint32_t i : {130u, 3u, 199u, 64u, 63u}) {
        indexes.give_back(i);
    }
    EXPECT_EQ(indexes.in_use(), 195u);
    EXPECT_EQ(indexes.take(), 3u);
    EXPECT_EQ(indexes.take(), 63u);
    indexes.give_back(0);
    EXPECT_EQ(indexes.take(), 0u);
    EXPECT_EQ(indexes.take(), 64u);
    EXPECT_EQ(indexes.take(), 130u);
    EXPECT_EQ(indexes.take(), 199u);
    EXPECT_EQ(indexes.take(), 200u); // none given back: a new one
    EXPECT_EQ(indexes.end(), 201u);
    EXPECT_EQ(indexes.in_use(), 201u);
}

// The error two walks beside each other report is the one a single walk
// meets first: the corrupt record both decode, or, before it, a model that
// cannot be built at the first event.
TEST(AllocationStream, TwoWalksThrowWhatOneWalkThrows) {
    const std::vector<unsigned char> bytes = trace_claiming_too_many_events();
    const SourceFactory open = [bytes] { return OwnedTraceSource::from_bytes(bytes); };
    auto error_of = [&open](const std::vector<ModelSpec>& models, Walks walks) {
        ReplayOptions options;
        options.models = models;
        try {
            profile_trace(open, options, walks);
        } catch (const trace::TraceError& e) {
            return std::string("trace: ") + e.what();
        } catch (const ModelError& e) {
            return std::string("model: ") + e.what();
        }
        return std::string("no error");
    };
    const std::string corrupt = error_of(default_models(), Walks::One);
    EXPECT_EQ(corrupt.rfind("trace: ", 0), 0u) << corrupt;
    EXPECT_EQ(error_of(default_models(), Walks::TwoBesideEachOther), corrupt);
    const std::vector<ModelSpec> unknown = {ModelSpec::parse("ideal"),
                                            ModelSpec::parse("no-such-heap")};
    const std::string model = error_of(unknown, Walks::One);
    EXPECT_EQ(model.rfind("model: unknown model 'no-such-heap'", 0), 0u) << model;
    EXPECT_EQ(error_of(unknown, Walks::TwoBesideEachOther), model);
}

// What follows the recording's walk (the min-pool searches, the connection
// costs) runs as soon as it ended, beside the models' walk when there are
// two: with the stream whole, stretches found, and the number of
// connections. What it throws comes after what the walks threw.
TEST(AllocationStream, WorkAfterTheRecordingWalkSeesTheWholeStream) {
    const SourceFactory open = [] {
        return std::make_unique<TraceFileSource>(path_of("tls12-ecdhe-ecdsa-p256-2x2-together"));
    };
    ReplayOptions options;
    options.models = default_models();
    for (const Walks walks : {Walks::One, Walks::TwoBesideEachOther}) {
        AllocationStream stream;
        std::size_t events = 0;
        std::size_t stretches = 0;
        std::uint32_t connections = 0;
        const ReplayResult result =
            replay_trace(open, options, stream, nullptr, walks, [&](std::uint32_t n) {
                events = stream.event_count();
                stretches = stream.stretches().size();
                connections = n;
            });
        EXPECT_EQ(connections, result.connections);
        EXPECT_EQ(connections, 4u);
        EXPECT_EQ(events, stream.event_count());
        EXPECT_GT(stretches, 0u);
        EXPECT_EQ(stretches, stream.stretches().size());
    }
    const std::vector<unsigned char> bytes = trace_claiming_too_many_events();
    const SourceFactory corrupt = [bytes] { return OwnedTraceSource::from_bytes(bytes); };
    auto error_of = [&options](const SourceFactory& f, Walks walks) {
        AllocationStream stream;
        try {
            replay_trace(f, options, stream, nullptr, walks,
                         [](std::uint32_t) { throw std::runtime_error("after"); });
        } catch (const trace::TraceError&) {
            return std::string("trace");
        } catch (const std::runtime_error& e) {
            return std::string("after: ") + e.what();
        }
        return std::string("no error");
    };
    for (const Walks walks : {Walks::One, Walks::TwoBesideEachOther}) {
        EXPECT_EQ(error_of(open, walks), "after: after");
        EXPECT_EQ(error_of(corrupt, walks), "trace");
    }
}

// A reconnect recording built by hand: `cycles` connections, each the same
// SETUP, HANDSHAKE and TEARDOWN on fresh addresses, with sizes that vary
// within a connection but not between them. A session block allocated in one
// connection is freed in the next, so a connection never starts on an empty
// heap. At `odd_cycle` the connection also allocates a block it never frees:
// from there on every model's state differs from the one before, though the
// events repeat. With `kinds` > 1, connection c asks 8 * (c % kinds) bytes
// more for each of its handshake blocks: kinds different connections, in turn.
std::vector<unsigned char> reconnect_trace(std::uint64_t cycles, std::uint64_t odd_cycle,
                                           std::uint64_t kinds = 1) {
    TraceBuilder b;
    b.meta("pointer_size", "4");
    std::uint64_t session = 0;
    for (std::uint64_t c = 0; c < cycles; ++c) {
        const std::uint64_t base = 0x100000 + c * 0x10000;
        std::vector<std::uint64_t> open;
        b.connection(1).phase(trace::Phase::Setup);
        for (std::uint64_t j = 0; j < 6; ++j) {
            open.push_back(base + j * 0x100);
            b.alloc(40 + (j * 7919) % 300, open.back());
        }
        b.phase(trace::Phase::Handshake);
        if (session != 0) {
            b.free(session);
        }
        for (std::uint64_t j = 6; j < 40; ++j) {
            b.alloc(16 + (j * 104729) % 900 + 8 * (c % kinds), base + j * 0x100);
            if (j % 3 != 0) {
                b.free(base + j * 0x100);
            } else {
                open.push_back(base + j * 0x100);
            }
            if (j % 5 == 0) {
                b.free(open[open.size() / 2]);
                open.erase(open.begin() + static_cast<std::ptrdiff_t>(open.size() / 2));
            }
        }
        session = base + 0xff00;
        b.alloc(120, session);
        if (c == odd_cycle) {
            b.alloc(24, base + 0xfe00);
        }
        b.phase(trace::Phase::Teardown);
        for (const std::uint64_t address : open) {
            b.free(address);
        }
    }
    return b.finish();
}

AllocationStream stream_of(const std::vector<unsigned char>& bytes) {
    const std::unique_ptr<RecordSource> source = OwnedTraceSource::from_bytes(bytes);
    return read_allocation_stream(*source);
}

void expect_same_run(const BareModelRun& skipped, const BareModelRun& replayed,
                     const std::string& what) {
    EXPECT_EQ(skipped.failure_count, replayed.failure_count) << what;
    EXPECT_EQ(skipped.footprint, replayed.footprint) << what;
    EXPECT_EQ(skipped.min_pool_one_pass, replayed.min_pool_one_pass) << what;
    expect_same_failure(skipped.first_failure, replayed.first_failure, what);
    EXPECT_EQ(replayed.skipped_events, 0u) << what;
}

// Every pool the search tries, and the whole search, give the same answer
// whether repeated stretches are skipped or replayed.
void expect_skipping_changes_nothing(const AllocationStream& stream, const std::string& name) {
    auto search = [&stream](RepeatedStretches repeated) {
        return find_min_pools(
            [&stream, repeated](const ModelSpec& spec, std::optional<std::uint64_t> pool) {
                const BareModelRun skipped = replay_bare_model(stream, spec, pool);
                const BareModelRun replayed =
                    replay_bare_model(stream, spec, pool, std::nullopt, RepeatedStretches::Replay);
                expect_same_run(skipped, replayed,
                                spec.name + " in " + (pool ? std::to_string(*pool) : "no pool"));
                return repeated == RepeatedStretches::Skip ? skipped : replayed;
            },
            stream.pointer_size(), stream.live_peak(), default_models());
    };
    SCOPED_TRACE(name);
    expect_same_results(search(RepeatedStretches::Skip), search(RepeatedStretches::Replay));
    // Connection subsets (the per-connection costs) skip too.
    for (const ModelSpec& spec : default_models()) {
        for (const std::uint32_t last : {0u, 1u}) {
            expect_same_run(
                replay_bare_model(stream, spec, std::nullopt, last),
                replay_bare_model(stream, spec, std::nullopt, last, RepeatedStretches::Replay),
                spec.name + " up to connection " + std::to_string(last));
        }
    }
}

TEST(RepeatedStretches, ReconnectsAreSkippedWithTheFiguresOfAFullReplay) {
    const AllocationStream stream = stream_of(reconnect_trace(60, UINT64_MAX));
    ASSERT_EQ(stream.stretches().size(), 60u);
    for (std::size_t i = 1; i < stream.stretches().size(); ++i) {
        // The first frees no session: the rest are the second's.
        EXPECT_EQ(stream.stretches()[i].same_as, std::min<std::size_t>(i, 1)) << i;
    }
    expect_skipping_changes_nothing(stream, "60 equal reconnects");
    // Each model's state comes back after a connection or two: about all of
    // the rest is skipped.
    for (const ModelSpec& spec : default_models()) {
        const BareModelRun run = replay_bare_model(stream, spec, std::nullopt);
        EXPECT_GT(run.skipped_events, stream.event_count() * 9 / 10) << spec.name;
    }
}

TEST(RepeatedStretches, AStateThatChangedIsReplayedUntilItRepeatsAgain) {
    const AllocationStream plain = stream_of(reconnect_trace(40, UINT64_MAX));
    const AllocationStream odd = stream_of(reconnect_trace(40, 20));
    expect_skipping_changes_nothing(odd, "a block kept from connection 20 on");
    for (const ModelSpec& spec : default_models()) {
        const BareModelRun run = replay_bare_model(odd, spec, std::nullopt);
        // Connections 20 and 21 (the first to repeat 20's events after it
        // changed the state) are replayed, then skipping starts again.
        EXPECT_LT(run.skipped_events, replay_bare_model(plain, spec, std::nullopt).skipped_events)
            << spec.name;
        EXPECT_GT(run.skipped_events, 0u) << spec.name;
    }
}

// Connections of three kinds in turn: no connection equals the one before,
// yet each equals the one three before, and is passed over once one of its
// kind has been served from the state it meets.
TEST(RepeatedStretches, AConnectionEqualToAnyServedBeforeIsSkipped) {
    const AllocationStream stream = stream_of(reconnect_trace(60, UINT64_MAX, 3));
    ASSERT_EQ(stream.stretches().size(), 60u);
    for (std::size_t i = 0; i < stream.stretches().size(); ++i) {
        // The first frees no session: the 4th is the first of its kind's
        // stretches that the ones after it equal.
        const std::size_t first = i < 3 ? i : i % 3 == 0 ? 3 : i % 3;
        EXPECT_EQ(stream.stretches()[i].same_as, first) << i;
    }
    expect_skipping_changes_nothing(stream, "three kinds of connection in turn");
    for (const ModelSpec& spec : default_models()) {
        const BareModelRun run = replay_bare_model(stream, spec, std::nullopt);
        EXPECT_GT(run.skipped_events, stream.event_count() * 8 / 10) << spec.name;
    }
}

// Each different stretch's events are stored once: a stretch equal to an
// earlier one refers to that one's, and the stored events are those of the
// stretches first seen.
TEST(RepeatedStretches, EachDifferentStretchIsStoredOnce) {
    const AllocationStream stream = stream_of(reconnect_trace(60, UINT64_MAX, 3));
    ASSERT_EQ(stream.stretches().size(), 60u);
    std::uint64_t all = 0;
    std::uint64_t first_seen = 0;
    for (std::size_t i = 0; i < stream.stretches().size(); ++i) {
        const std::uint32_t same_as = stream.stretches()[i].same_as;
        all += stream.events_of(i).size();
        if (same_as == i) {
            first_seen += stream.events_of(i).size();
        } else {
            EXPECT_EQ(stream.events_of(i).data(), stream.events_of(same_as).data()) << i;
            EXPECT_EQ(stream.events_of(i).size(), stream.events_of(same_as).size()) << i;
        }
    }
    EXPECT_EQ(all, stream.event_count());
    EXPECT_EQ(first_seen, stream.stored_events().size());
    // The first (which frees no session), the next two and the first of
    // the 4th kind (see the test above).
    EXPECT_EQ(first_seen, stream.events_of(0).size() + 3 * stream.events_of(4).size());
}

// Connections whose blocks and sizes are equal but whose call sites are
// not: the same events for the replays, each its own call sites for where an
// allocation failed (EveryAllocationsMomentIsTheWalkers).
std::vector<unsigned char> connections_with_call_sites(const std::vector<std::uint32_t>& stacks) {
    TraceBuilder b;
    b.meta("pointer_size", "4");
    for (const std::uint32_t stack : stacks) {
        b.connection(1).phase(trace::Phase::Setup);
        b.alloc(100, 0x1000, stack);
        b.phase(trace::Phase::Handshake);
        b.alloc(20, 0x2000, 10); // a stretch starts where SETUP follows another phase
        b.free(0x1000);
        b.free(0x2000);
    }
    return b.finish();
}

TEST(RepeatedStretches, StretchesWithOtherCallSitesShareTheirEvents) {
    const AllocationStream stream = stream_of(connections_with_call_sites({1, 1, 2, 1}));
    ASSERT_EQ(stream.stretches().size(), 4u);
    for (const AllocationStream::Stretch& s : stream.stretches()) {
        EXPECT_EQ(s.same_as, 0u);
    }
    EXPECT_EQ(stream.stored_events().size(), 4u);
    // The 3rd's first call site is its change to the 1st's.
    for (std::size_t i = 0; i < stream.stretches().size(); ++i) {
        const AllocationStream::Stretch& s = stream.stretches()[i];
        EXPECT_EQ(s.stacks_first, 0u) << i;
        EXPECT_EQ(s.changes_end - s.changes_first, i == 2 ? 1u : 0u) << i;
    }
}

// Builds the stream and, beside it, notes each allocation the stream keeps
// with the moment the replay engine notes of it: what the stream's
// moment_of must say.
class MomentsBesideTheStream final : public trace::WalkerHooks {
  public:
    MomentsBesideTheStream(const trace::TraceWalker& walker, AllocationStream& stream)
        : walker_(walker), stream_(stream), builder_(walker, stream) {}
    void on_alloc(const trace::Record& r, const trace::LiveAllocation* block,
                  std::uint32_t slot) override {
        const std::uint64_t before = stream_.allocations();
        builder_.on_alloc(r, block, slot);
        if (stream_.allocations() == before) {
            return;
        }
        moments.push_back({stream_.event_count() - 1, moment_of(r, walker_)});
    }
    void on_free(const trace::Record& r, trace::FreeKind kind, const trace::LiveAllocation* block,
                 std::uint32_t slot) override {
        builder_.on_free(r, kind, block, slot);
    }
    void finish() { builder_.finish(); }

    std::vector<std::pair<std::uint64_t, Moment>> moments; // by event index

  private:
    const trace::TraceWalker& walker_;
    AllocationStream& stream_;
    AllocationStreamBuilder builder_;
};

void expect_every_moment_is_the_walkers(RecordSource& source, const std::string& what) {
    AllocationStream stream;
    trace::TraceWalker walker;
    MomentsBesideTheStream hooks(walker, stream);
    walker.walk(source, hooks);
    hooks.finish();
    ASSERT_EQ(hooks.moments.size(), stream.allocations()) << what;
    ASSERT_GT(stream.allocations(), 0u) << what;
    for (std::size_t k = 0; k < hooks.moments.size(); ++k) {
        const auto& [event, moment] = hooks.moments[k];
        expect_same_moment(stream.moment_of(event, k), moment,
                           what + ", allocation " + std::to_string(k));
    }
}

// Stored or referring to another stretch's events, every allocation's
// moment is its own: its seq, time, context and call site.
TEST(RepeatedStretches, EveryAllocationsMomentIsTheWalkers) {
    const std::unique_ptr<RecordSource> reconnects =
        OwnedTraceSource::from_bytes(reconnect_trace(60, 20, 3));
    expect_every_moment_is_the_walkers(*reconnects, "three kinds of connection in turn");
    const std::unique_ptr<RecordSource> call_sites =
        OwnedTraceSource::from_bytes(connections_with_call_sites({3, 4, 3, 4, 5, 3}));
    expect_every_moment_is_the_walkers(*call_sites,
                                       "call sites changing between equal connections");
    TraceFileSource together(path_of("tls12-ecdhe-ecdsa-p256-2x2-together"));
    expect_every_moment_is_the_walkers(together, "2x2 together");
}

// A soak whose every connection leaks a block: no state comes back, the
// states kept reach their bytes' limit (after about 600 connections) and the
// rest is served; the figures stay those of the full replay.
TEST(RepeatedStretches, ASoakThatNeverComesBackIsServedWhole) {
    TraceBuilder b;
    b.meta("pointer_size", "4");
    for (std::uint64_t c = 0; c < 5000; ++c) {
        const std::uint64_t base = 0x100000 + c * 0x100;
        b.connection(1).phase(trace::Phase::Setup);
        b.alloc(100, base);
        b.phase(trace::Phase::Handshake);
        b.alloc(24, base + 0x80); // never freed
        b.phase(trace::Phase::Teardown);
        b.free(base);
    }
    const AllocationStream stream = stream_of(b.finish());
    ASSERT_EQ(stream.stretches().size(), 5000u);
    for (const ModelSpec& spec : default_models()) {
        const BareModelRun skipped = replay_bare_model(stream, spec, std::nullopt);
        const BareModelRun replayed =
            replay_bare_model(stream, spec, std::nullopt, std::nullopt, RepeatedStretches::Replay);
        expect_same_run(skipped, replayed, spec.name);
        EXPECT_EQ(skipped.skipped_events, 0u) << spec.name;
    }
}

// The default scenario's recorded handshake, repeated as the replay
// benchmark repeats it (every repetition on the same addresses, as a long
// recording on one heap gives them): real allocation patterns.
TEST(RepeatedStretches, ARecordedConnectionRepeatedIsSkippedWithTheFiguresOfAFullReplay) {
    const std::filesystem::path file =
        std::filesystem::temp_directory_path() /
        ("tlsheap-repeated-" + std::to_string(::getpid()) + ".trace");
    const bench::RepeatedTrace written =
        bench::write_repeated_trace(path_of("tls12-ecdhe-ecdsa-p256"), 40000, file.string());
    TraceFileSource source(file.string());
    const AllocationStream stream = read_allocation_stream(source);
    std::filesystem::remove(file);
    ASSERT_GE(written.repetitions, 4u);
    ASSERT_EQ(stream.stretches().size(), written.repetitions);
    expect_skipping_changes_nothing(stream, "the default connection repeated");
    for (const ModelSpec& spec : default_models()) {
        // Replayed: the first connection, the one whose state comes back,
        // and no more than two more.
        const BareModelRun run = replay_bare_model(stream, spec, std::nullopt);
        EXPECT_GE(run.skipped_events,
                  stream.event_count() * (written.repetitions - 4) / written.repetitions)
            << spec.name;
    }
}

TEST_P(StreamSampleTrace, SkippingRepeatsChangesNoFigure) {
    const std::unique_ptr<RecordSource> source =
        std::make_unique<TraceFileSource>(path_of(GetParam()));
    expect_skipping_changes_nothing(read_allocation_stream(*source), GetParam());
}

} // namespace
} // namespace tlsheap::replay
