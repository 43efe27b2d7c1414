// The engine's figures on hand-built traces, worked out by hand.
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_meta.h"
#include "trace_builder.h"

#include <gtest/gtest.h>

namespace tlsheap::replay {
namespace {

using testing::TraceBuilder;
using trace::Phase;

ReplayResult run(std::vector<unsigned char> bytes, std::vector<std::string> models = {"ideal"}) {
    auto reader = trace::TraceReader::from_bytes(std::move(bytes));
    ReplayOptions options;
    for (const auto& m : models) {
        options.models.push_back(ModelSpec::parse(m));
    }
    options.verify_every_event = true;
    return replay_trace(*reader, options);
}

// SETUP allocates 100 and 16717 (the input buffer); the handshake steps
// through two states; the peak (100 + 16717 + 500 + 300 = 17617) is reached
// in state 3 by the 300-byte allocation.
std::vector<unsigned char> handshake_trace() {
    TraceBuilder b;
    b.meta(trace::meta::kPointerSize, "4")
        .state_name(2, "SERVER_HELLO")
        .state_name(3, "SERVER_CERTIFICATE");
    b.phase(Phase::Setup);
    b.alloc(100, 0x1000);
    const auto in_buf = b.alloc(16717, 0x2000);
    b.role(in_buf, trace::Role::InBuffer);
    b.phase(Phase::Handshake).step(2);
    b.alloc(500, 0x7000);
    b.step_end(3).step(3);
    b.alloc(300, 0x8000);
    b.free(0x8000);
    b.step_end(4);
    b.phase(Phase::Application);
    b.alloc(50, 0x9000);
    b.free(0x9000);
    b.phase(Phase::Teardown);
    b.free(0x1000).free(0x2000);
    return b.finish(); // 0x7000 (500 bytes) is never freed: a leak
}

// A recording on the painted stack: each StackHighWater record belongs to
// the context it ends. Figures are deepest - base.
TEST(ReplayEngine, StackHighWaterPerPhaseAndStepOnly) {
    TraceBuilder b;
    b.meta(trace::meta::kStackPainted, "65536").state_name(2, "SERVER_HELLO");
    b.connection(1).phase(Phase::Setup);
    b.alloc(100, 0x1000);
    b.stack_high_water(1500, 500); // SETUP: 1,000
    b.phase(Phase::Handshake).stack_high_water(900, 600).step(2);
    b.stack_high_water(4100, 600); // the step of SERVER_HELLO: 3,500
    b.step_end(3);
    // Between two steps the recorder ran, not a state: only the phase's.
    b.stack_high_water(4300, 300);                     // 4,000
    b.step(2).stack_high_water(2600, 600).step_end(3); // SERVER_HELLO again: 2,000
    b.phase(Phase::Teardown);
    b.free(0x1000);
    b.stack_high_water(700, 500);
    const ReplayResult r = run(b.finish());
    ASSERT_TRUE(r.stack.has_value());
    EXPECT_EQ(r.stack->painted, 65536u);
    EXPECT_EQ(r.stack->below_call, 4000u);
    EXPECT_EQ(r.stack->deepest, 4300u);
    EXPECT_EQ(r.stack->phase, Phase::Handshake);
    EXPECT_FALSE(r.stack->in_step);
    EXPECT_EQ(r.stack->connection, 1u);
    EXPECT_EQ(r.phases[static_cast<unsigned>(Phase::Setup)].stack, 1000u);
    EXPECT_EQ(r.phases[static_cast<unsigned>(Phase::Handshake)].stack, 4000u);
    EXPECT_EQ(r.phases[static_cast<unsigned>(Phase::Teardown)].stack, 200u);
    ASSERT_EQ(r.states.size(), 1u); // state 3 was never stepped
    EXPECT_EQ(r.states[0].stack, 3500u);
    // Without the records nothing is measured.
    EXPECT_FALSE(run(handshake_trace()).stack.has_value());
}

TEST(ReplayEngine, LivePeakAndWhereItHappened) {
    const ReplayResult r = run(handshake_trace());
    EXPECT_EQ(r.live_peak.bytes, 17617u);
    EXPECT_EQ(r.live_peak.at.phase, Phase::Handshake);
    EXPECT_EQ(r.info.state_name(r.live_peak.at.state), "SERVER_CERTIFICATE");
    EXPECT_EQ(r.live_peak.at.seq, 4u);
}

TEST(ReplayEngine, PeaksPerPhaseAndState) {
    const ReplayResult r = run(handshake_trace());
    EXPECT_EQ(r.phases[static_cast<unsigned>(Phase::Setup)].peak.bytes, 16817u);
    EXPECT_EQ(r.phases[static_cast<unsigned>(Phase::Handshake)].peak.bytes, 17617u);
    EXPECT_EQ(r.phases[static_cast<unsigned>(Phase::Application)].peak.bytes, 17367u);
    // Nothing is allocated in TEARDOWN; its peak is what it started with.
    EXPECT_EQ(r.phases[static_cast<unsigned>(Phase::Teardown)].peak.bytes, 17317u);
    ASSERT_EQ(r.states.size(), 2u);
    EXPECT_EQ(r.info.state_name(r.states[0].state), "SERVER_HELLO");
    EXPECT_EQ(r.states[0].peak.bytes, 17317u);
    EXPECT_EQ(r.states[0].allocs, 1u);
    EXPECT_EQ(r.states[1].peak.bytes, 17617u);
    EXPECT_EQ(r.states[1].frees, 1u);
}

TEST(ReplayEngine, SteadyStateBuffersAndLeaks) {
    const ReplayResult r = run(handshake_trace());
    ASSERT_TRUE(r.live_after_handshake.has_value());
    EXPECT_EQ(*r.live_after_handshake, 17317u);
    EXPECT_EQ(r.application_peak, 17367u);
    ASSERT_EQ(r.record_buffers.size(), 1u);
    EXPECT_EQ(r.record_buffers[0].block.size, 16717u);
    EXPECT_TRUE(r.teardown_reached);
    ASSERT_EQ(r.leaks.size(), 1u);
    EXPECT_EQ(r.leaks[0].size, 500u);
    EXPECT_EQ(r.leaked_bytes, 500u);
}

TEST(ReplayEngine, AliveAtPeakCountsOnlyBlocksLiveThen) {
    const ReplayResult r = run(handshake_trace());
    std::uint64_t total = 0;
    std::uint64_t blocks = 0;
    for (const SiteBytes& s : r.alive_at_peak) {
        total += s.bytes;
        blocks += s.blocks;
    }
    EXPECT_EQ(total, r.live_peak.bytes); // 100 + 16717 + 500 + 300; not the later 50
    EXPECT_EQ(blocks, 4u);
}

TEST(ReplayEngine, BadFreesAreFindingsAndReplayCarriesOn) {
    TraceBuilder b;
    b.meta(trace::meta::kPointerSize, "4").phase(Phase::Handshake);
    b.alloc(64, 0x1000);
    b.free(0x5000); // never allocated
    b.free(0x1000);
    b.free(0x1000, 1); // names allocation 1 again: double free
    b.alloc(32, 0x1000);
    b.free(0x1000);
    const ReplayResult r = run(b.finish(), {"ideal", "mbedtls-pool"});
    ASSERT_EQ(r.findings.size(), 2u);
    EXPECT_EQ(r.findings[0].kind, Finding::Kind::UnknownFree);
    EXPECT_EQ(r.findings[0].at.seq, 2u);
    EXPECT_EQ(r.findings[1].kind, Finding::Kind::DoubleFree);
    EXPECT_EQ(r.findings[1].at.seq, 4u);
    EXPECT_EQ(r.frees, 2u);
    EXPECT_EQ(r.live_peak.bytes, 64u);
    for (const ModelRun& m : r.models) {
        EXPECT_TRUE(m.invariant_violation.empty()) << m.name << ": " << m.invariant_violation;
    }
}

TEST(ReplayEngine, PoolLimitFailsTheAllocationThatDoesNotFit) {
    TraceBuilder b;
    b.meta(trace::meta::kPointerSize, "4")
        .state_name(3, "SERVER_CERTIFICATE")
        .phase(Phase::Handshake)
        .step(3);
    b.alloc(1000, 0x1000);
    b.alloc(2000, 0x2000);
    auto reader = trace::TraceReader::from_bytes(b.finish());
    ReplayOptions options;
    options.models = {ModelSpec::parse("mbedtls-pool")};
    // 32-byte headers: the first block takes 32 + 1000; what remains of a
    // 2048-byte pool (2048 - 1032 - 32 = 984 bytes of payload) cannot hold 2000.
    options.pool_size = 2048;
    const ReplayResult r = replay_trace(*reader, options);
    ASSERT_EQ(r.models.size(), 1u);
    EXPECT_EQ(r.models[0].failure_count, 1u);
    ASSERT_EQ(r.models[0].failures.size(), 1u);
    EXPECT_EQ(r.models[0].failures[0].at.seq, 2u);
    EXPECT_EQ(r.models[0].failures[0].size, 2000u);
    EXPECT_EQ(r.info.state_name(r.models[0].failures[0].at.state), "SERVER_CERTIFICATE");
}

TEST(ReplayEngine, TruncatedTraceReplaysWhatItHas) {
    TraceBuilder b;
    b.meta(trace::meta::kPointerSize, "4").phase(Phase::Setup);
    b.alloc(10, 0x10);
    b.alloc(20, 0x20);
    const ReplayResult r = run(b.unfinished());
    EXPECT_TRUE(r.truncated);
    EXPECT_EQ(r.live_peak.bytes, 30u);
    EXPECT_FALSE(r.teardown_reached);
    EXPECT_TRUE(r.leaks.empty()); // unknown, not "none"
}

TEST(ReplayEngine, SeriesStaysBoundedOverLongTraces) {
    TraceBuilder b;
    b.meta(trace::meta::kPointerSize, "4").phase(Phase::Handshake);
    for (int i = 0; i < 5000; ++i) {
        b.alloc(16, 0x1000);
        b.free(0x1000);
    }
    auto reader = trace::TraceReader::from_bytes(b.finish());
    ReplayOptions options;
    options.series_points = 64;
    const ReplayResult r = replay_trace(*reader, options);
    EXPECT_LE(r.series.size(), 128u);
    EXPECT_GE(r.series.size(), 64u);
    EXPECT_EQ(r.series.back().seq, 10000u);
    for (const SeriesPoint& p : r.series) {
        EXPECT_EQ(p.live_max, 16u);
    }
}

// On a heap of fixed size every point carries each model's heap figures at
// its end; the ideal model's free bytes are the heap less the live bytes.
// Without a heap size, none.
TEST(ReplayEngine, SeriesPointsCarryTheHeapFiguresOnAFixedHeap) {
    TraceBuilder b;
    b.meta(trace::meta::kPointerSize, "4").phase(Phase::Handshake);
    b.alloc(100, 0x1000);
    b.alloc(60, 0x2000);
    b.free(0x1000);
    b.alloc(10, 0x3000);
    const std::vector<unsigned char> bytes = b.finish();
    ReplayOptions options;
    options.models = {ModelSpec::parse("ideal"), ModelSpec::parse("mbedtls-pool")};
    options.series_points = 16;
    {
        auto reader = trace::TraceReader::from_bytes(bytes);
        for (const SeriesPoint& p : replay_trace(*reader, options).series) {
            EXPECT_TRUE(p.heap.empty());
        }
    }
    options.pool_size = 1000;
    auto reader = trace::TraceReader::from_bytes(bytes);
    const ReplayResult r = replay_trace(*reader, options);
    const std::vector<std::uint64_t> live = {100, 160, 60, 70}; // after events 1..4
    ASSERT_EQ(r.series.size(), 4u);
    for (const SeriesPoint& p : r.series) {
        ASSERT_EQ(p.heap.size(), 2u);
        EXPECT_EQ(p.heap[0].free_bytes, 1000 - live[p.seq - 1]) << p.seq;
        EXPECT_EQ(p.heap[0].largest_free_block, 1000 - live[p.seq - 1]) << p.seq;
        // memory_buffer_alloc counts a 32-byte header per block, in use or free.
        EXPECT_LT(p.heap[1].free_bytes, 1000 - live[p.seq - 1]) << p.seq;
    }
}

} // namespace
} // namespace tlsheap::replay
