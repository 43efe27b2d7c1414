#include "tlsheap/trace_walker.h"
#include "trace_builder.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace tlsheap::trace {
namespace {

using testing::TraceBuilder;

// What a client sees, hook by hook, with the walker's context at that moment.
struct Seen : WalkerHooks {
    explicit Seen(const TraceWalker& w) : walker(w) {}
    void on_alloc(const Record& r, const LiveAllocation* block, std::uint32_t slot) override {
        log.push_back("alloc " + std::to_string(r.seq) + (block ? "" : " NULL") + " slot " +
                      std::to_string(slot) + " live " + std::to_string(walker.live_bytes()));
        if (block != nullptr) {
            EXPECT_EQ(walker.slot_of(*block), slot);
            activities.push_back(walker.activity_name(block->activity));
            states.push_back(block->state);
        }
    }
    void on_free(const Record& r, FreeKind kind, const LiveAllocation* block,
                 std::uint32_t slot) override {
        static const char* names[] = {"null", "known", "double", "unknown"};
        std::string line = "free " + std::to_string(r.seq) + " " + names[static_cast<int>(kind)];
        if (block != nullptr) {
            line += " of " + std::to_string(block->seq) + " (" + std::to_string(block->size) +
                    " B) slot " + std::to_string(slot);
        }
        log.push_back(line + " live " + std::to_string(walker.live_bytes()));
    }
    void on_phase(const Record& r, Phase previous) override {
        EXPECT_EQ(walker.phase(), r.phase);
        log.push_back(std::string("phase ") + phase_name(previous) + " -> " +
                      phase_name(walker.phase()));
    }
    void on_description(const Record& r) override { log.push_back("describe " + r.key); }
    const TraceWalker& walker;
    std::vector<std::string> log;
    std::vector<std::string> activities;
    std::vector<std::uint32_t> states;
};

TEST(TraceWalker, TracksLiveBlocksAndClassifiesEveryFree) {
    TraceBuilder b;
    b.meta("pointer_size", "4").phase(Phase::Setup);
    b.alloc(100, 0x1000); // 1
    b.alloc(200, 0x2000); // 2
    b.free(0x1000);       // 3: known
    b.free(0x1000, 1);    // 4: names seq 1 again: double
    b.free(0x9000, 0);    // 5: never allocated: unknown
    b.free(0);            // 6: free(NULL)
    b.alloc(50, 0);       // 7: returned NULL, never live
    b.alloc(30, 0x3000);  // 8: takes the slot seq 1 left
    auto reader = TraceReader::from_bytes(b.finish());
    TraceWalker walker;
    Seen seen(walker);
    walker.walk(*reader, seen);
    const std::vector<std::string> expected = {
        "describe pointer_size",
        "phase SETUP -> SETUP",
        "alloc 1 slot 0 live 100",
        "alloc 2 slot 1 live 300",
        "free 3 known of 1 (100 B) slot 0 live 200",
        "free 4 double live 200",
        "free 5 unknown live 200",
        "free 6 null live 200",
        "alloc 7 NULL slot 0 live 200",
        "alloc 8 slot 0 live 230",
    };
    EXPECT_EQ(seen.log, expected);
    EXPECT_EQ(walker.events(), 8u);
    EXPECT_EQ(walker.live_count(), 2u);
    ASSERT_NE(walker.live(2), nullptr);
    EXPECT_EQ(walker.live(2)->address, 0x2000u);
    EXPECT_EQ(walker.live(1), nullptr);
    const auto in_order = walker.live_in_seq_order();
    ASSERT_EQ(in_order.size(), 2u);
    EXPECT_EQ(in_order[0]->seq, 2u);
    EXPECT_EQ(in_order[1]->seq, 8u);
    EXPECT_EQ(walker.info().pointer_size(), 4u);
}

// A walk that keeps no freed addresses (the models' walk) tells every free
// of a live block as before; a second free of an address that names no seq
// is then a stranger's, one that names the freed seq still a double free.
TEST(TraceWalker, WithoutFreedAddressesOnlyTheStrayFreesBlur) {
    TraceBuilder b;
    b.meta("pointer_size", "4").phase(Phase::Setup);
    b.alloc(100, 0x1000); // 1
    b.free(0x1000);       // 2: known
    b.free(0x1000, 0);    // 3: the address again, no seq
    b.free(0x1000, 1);    // 4: names seq 1 again
    b.alloc(40, 0x1000);  // 5: the address reused
    b.free(0x1000);       // 6: known
    const std::vector<unsigned char> bytes = b.finish();
    auto log_of = [&](bool keep_freed) {
        auto reader = TraceReader::from_bytes(bytes);
        TraceWalker walker;
        if (!keep_freed) {
            walker.keep_no_freed_addresses();
        }
        Seen seen(walker);
        walker.walk(*reader, seen);
        return seen.log;
    };
    std::vector<std::string> expected = {
        "describe pointer_size",   "phase SETUP -> SETUP",
        "alloc 1 slot 0 live 100", "free 2 known of 1 (100 B) slot 0 live 0",
        "free 3 double live 0",    "free 4 double live 0",
        "alloc 5 slot 0 live 40",  "free 6 known of 5 (40 B) slot 0 live 0",
    };
    EXPECT_EQ(log_of(true), expected);
    expected[4] = "free 3 unknown live 0";
    EXPECT_EQ(log_of(false), expected);
}

TEST(TraceWalker, BlocksKeepThePhaseStateAndActivityTheyWereMadeIn) {
    TraceBuilder b;
    b.state_name(2, "SERVER_HELLO").phase(Phase::Setup);
    b.activity(true, "ca_chain_parse");
    b.activity(true, "inner");
    b.alloc(10, 0x100); // inner
    b.activity(false, "inner");
    b.alloc(20, 0x200); // ca_chain_parse
    b.activity(false, "ca_chain_parse");
    b.alloc(30, 0x300); // none
    b.phase(Phase::Handshake).step(2);
    b.alloc(40, 0x400);
    b.step_end(3);
    b.alloc(50, 0x500);
    auto reader = TraceReader::from_bytes(b.finish());
    TraceWalker walker;
    Seen seen(walker);
    EXPECT_FALSE(walker.stepped());
    walker.walk(*reader, seen);
    EXPECT_EQ(seen.activities, (std::vector<std::string>{"inner", "ca_chain_parse", "", "", ""}));
    EXPECT_EQ(seen.states, (std::vector<std::uint32_t>{0, 0, 0, 2, 3}));
    EXPECT_TRUE(walker.stepped());
    EXPECT_EQ(walker.state(), 3u);
    EXPECT_EQ(walker.phase(), Phase::Handshake);
    EXPECT_EQ(walker.activity(), "");
    EXPECT_EQ(walker.live(3)->phase, Phase::Setup);
    EXPECT_EQ(walker.live(4)->phase, Phase::Handshake);
    EXPECT_EQ(walker.info().state_name(walker.live(4)->state), "SERVER_HELLO");
}

TEST(TraceWalker, AnActivityEndedOutOfOrderClosesItsOwnEntry) {
    TraceBuilder b;
    b.phase(Phase::Setup).activity(true, "outer").activity(true, "inner");
    b.activity(false, "outer"); // a trace from elsewhere need not nest
    b.alloc(10, 0x100);
    b.activity(false, "never_opened");
    b.alloc(10, 0x200);
    auto reader = TraceReader::from_bytes(b.finish());
    TraceWalker walker;
    Seen seen(walker);
    walker.walk(*reader, seen);
    EXPECT_EQ(seen.activities, (std::vector<std::string>{"inner", "inner"}));
}

TEST(TraceWalker, NamesTheRecordBuffersAndCountsTlsRecords) {
    TraceBuilder b;
    b.phase(Phase::Setup);
    const std::uint64_t in = b.alloc(16717, 0x1000);
    const std::uint64_t out = b.alloc(16717, 0x6000);
    b.role(in, Role::InBuffer).role(out, Role::OutBuffer);
    b.handshake(Direction::Out, 120, {1});
    b.record(Direction::In, 23, 4000);
    auto reader = TraceReader::from_bytes(b.finish());
    TraceWalker walker;
    EXPECT_FALSE(walker.roles_seen());
    Seen seen(walker);
    walker.walk(*reader, seen);
    EXPECT_TRUE(walker.roles_seen());
    EXPECT_EQ(walker.role_of(in), Role::InBuffer);
    EXPECT_EQ(walker.role_of(out), Role::OutBuffer);
    EXPECT_FALSE(walker.role_of(99).has_value());
    EXPECT_EQ(walker.current_buffer(Role::InBuffer), in);
    EXPECT_EQ(walker.current_buffer(Role::OutBuffer), out);
    EXPECT_EQ(walker.tls_records(), 2u);
}

TEST(TraceWalker, SlotsAreReusedAndLiveBytesFollowTheBlocks) {
    TraceBuilder b;
    b.phase(Phase::Setup);
    for (std::uint64_t i = 1; i <= 1000; ++i) {
        b.alloc(i, 0x10000 + 0x1000 * i);
    }
    for (std::uint64_t i = 1; i <= 1000; i += 2) {
        b.free(0x10000 + 0x1000 * i);
    }
    for (std::uint64_t i = 1; i <= 500; ++i) {
        b.alloc(1, 0x9000000 + 0x10 * i);
    }
    auto reader = TraceReader::from_bytes(b.finish());
    TraceWalker walker;
    Seen seen(walker);
    walker.walk(*reader, seen);
    // 2 + 4 + ... + 1000 alive from the first round, plus 500 one-byte blocks.
    EXPECT_EQ(walker.live_bytes(), 250500u + 500u);
    EXPECT_EQ(walker.live_count(), 1000u);
    EXPECT_EQ(walker.slot_capacity(), 1000u); // the second round took the freed slots
}

// Two connections interleaved step by step after a shared setup, as the
// recorder writes a `--connections 2 --start together` run.
std::vector<unsigned char> two_connections() {
    TraceBuilder b;
    b.connection(kSharedConnection).phase(Phase::Setup);
    b.alloc(1000, 0x1000); // 1: the CA chain
    b.connection(1).phase(Phase::Setup).activity(true, kActivitySslSetup);
    b.alloc(100, 0x2000); // 2: connection 1's in_buf
    b.role(2, Role::InBuffer).activity(false, kActivitySslSetup);
    b.connection(2).phase(Phase::Setup).activity(true, kActivitySslSetup);
    b.alloc(200, 0x3000); // 3: connection 2's in_buf
    b.role(3, Role::InBuffer).activity(false, kActivitySslSetup);
    b.connection(1).phase(Phase::Handshake).step(5);
    b.alloc(10, 0x4000); // 4: connection 1, state 5
    b.handshake(Direction::Out, 120, {1});
    b.step_end(6);
    b.connection(2).phase(Phase::Handshake).step(5);
    b.alloc(20, 0x5000); // 5: connection 2, state 5
    b.step_end(6);
    b.connection(1).step(6);
    b.free(0x4000); // 6: connection 1 frees its own block
    b.step_end(7);
    b.connection(2).phase(Phase::Teardown);
    b.free(0x3000).free(0x5000); // 7, 8
    b.connection(kSharedConnection).phase(Phase::Teardown);
    b.free(0x1000); // 9
    return b.finish();
}

// Records, for every event, the connection, phase and state the walker says.
struct ConnectionsSeen : WalkerHooks {
    explicit ConnectionsSeen(const TraceWalker& w) : walker(w) {}
    void on_alloc(const Record& r, const LiveAllocation* block, std::uint32_t) override {
        ASSERT_NE(block, nullptr);
        EXPECT_EQ(block->connection, walker.connection());
        log.push_back("alloc " + std::to_string(r.seq) + " #" + context());
    }
    void on_free(const Record& r, FreeKind, const LiveAllocation* block, std::uint32_t) override {
        log.push_back("free " + std::to_string(r.seq) + " of #" +
                      std::to_string(block->connection) + " by #" + context());
    }
    void on_connection(const Record& r, std::uint32_t previous) override {
        EXPECT_EQ(walker.connection(), r.connection);
        switches.push_back(std::to_string(previous) + "->" + std::to_string(r.connection));
    }
    std::string context() const {
        return std::to_string(walker.connection()) + " " + phase_name(walker.phase()) + " " +
               std::to_string(walker.state());
    }
    const TraceWalker& walker;
    std::vector<std::string> log;
    std::vector<std::string> switches;
};

TEST(TraceWalker, AttributesEventsAndBlocksToTheirConnection) {
    auto reader = TraceReader::from_bytes(two_connections());
    TraceWalker walker;
    ConnectionsSeen seen(walker);
    walker.walk(*reader, seen);
    EXPECT_EQ(seen.log, (std::vector<std::string>{
                            "alloc 1 #0 SETUP 0",
                            "alloc 2 #1 SETUP 0",
                            "alloc 3 #2 SETUP 0",
                            "alloc 4 #1 HANDSHAKE 5",
                            "alloc 5 #2 HANDSHAKE 5",
                            "free 6 of #1 by #1 HANDSHAKE 6",
                            "free 7 of #2 by #2 TEARDOWN 6",
                            "free 8 of #2 by #2 TEARDOWN 6",
                            "free 9 of #0 by #0 TEARDOWN 0",
                        }));
    // The first Connection record names the connection already current: no switch.
    EXPECT_EQ(seen.switches,
              (std::vector<std::string>{"0->1", "1->2", "2->1", "1->2", "2->1", "1->2", "2->0"}));
    EXPECT_TRUE(walker.connection_records());
    EXPECT_EQ(walker.connection_count(), 3u);
    EXPECT_EQ(walker.phase_of(1), Phase::Handshake);
    EXPECT_EQ(walker.state_of(1), 7u);
    EXPECT_EQ(walker.phase_of(2), Phase::Teardown);
    EXPECT_EQ(walker.state_of(2), 6u);
    EXPECT_EQ(walker.current_buffer(Role::InBuffer, 1), 2u);
    EXPECT_EQ(walker.current_buffer(Role::InBuffer, 2), 3u);
    EXPECT_EQ(walker.current_buffer(Role::InBuffer), 3u);
    EXPECT_EQ(walker.tls_records_of(1), 1u);
    EXPECT_EQ(walker.tls_records_of(2), 0u);
    EXPECT_EQ(walker.live_bytes_of(1), 100u); // connection 1's in_buf was never freed
    EXPECT_EQ(walker.live_bytes_of(2), 0u);
    EXPECT_EQ(walker.live_bytes_of(0), 0u);
    EXPECT_EQ(walker.live_bytes(), 100u);
}

TEST(TraceWalker, LiveBytesPerConnectionAddUpAtEveryEvent) {
    auto reader = TraceReader::from_bytes(two_connections());
    TraceWalker walker;
    Record r;
    std::uint64_t peak_of_2 = 0;
    while (reader->next(r)) {
        walker.feed(r);
        EXPECT_EQ(walker.live_bytes_of(0) + walker.live_bytes_of(1) + walker.live_bytes_of(2),
                  walker.live_bytes());
        peak_of_2 = std::max(peak_of_2, walker.live_bytes_of(2));
    }
    EXPECT_EQ(peak_of_2, 220u);
}

// A trace without Connection records (format 1.0): the shared part until
// ssl_setup begins, the one connection from then on, in the same phase and
// state, so that every figure of such a trace stays what it was.
TEST(TraceWalker, ResumptionOutcomesMarkTheirConnection) {
    TraceBuilder b;
    b.connection(1).phase(Phase::Handshake).outcome(OutcomeKind::Handshake, 0, 16, "TLSv1.2 x");
    b.connection(2).phase(Phase::Handshake).outcome(OutcomeKind::Handshake, 0, 16, "TLSv1.2 x");
    b.outcome(OutcomeKind::Resumed, 0, 16, "session-id");
    b.connection(3).phase(Phase::Handshake).outcome(OutcomeKind::Handshake, 0, 16, "TLSv1.2 x");
    b.outcome(OutcomeKind::NotResumed, 0, 16, "session-id");
    auto reader = TraceReader::from_bytes(b.finish());
    TraceWalker walker;
    walker.walk(*reader);
    EXPECT_EQ(walker.handshake_kind_of(1), HandshakeKind::Full);
    EXPECT_EQ(walker.handshake_kind_of(2), HandshakeKind::Resumed);
    EXPECT_TRUE(walker.resumed(2));
    EXPECT_EQ(walker.handshake_kind_of(3), HandshakeKind::NotResumed);
    EXPECT_FALSE(walker.resumed(3));
    EXPECT_EQ(walker.handshake_kind_of(99), HandshakeKind::Full);
}

TEST(TraceWalker, EarlyDataOutcomesMarkTheirConnection) {
    TraceBuilder b;
    b.connection(1).phase(Phase::Handshake).outcome(OutcomeKind::Handshake, 0, 16, "TLSv1.3 x");
    b.connection(2).phase(Phase::Handshake).outcome(OutcomeKind::Handshake, 0, 16, "TLSv1.3 x");
    b.outcome(OutcomeKind::Resumed, 0, 16, "ticket");
    b.outcome(OutcomeKind::EarlyData, static_cast<int>(EarlyDataStatus::Accepted), 16, "57 bytes");
    b.connection(3).phase(Phase::Handshake).outcome(OutcomeKind::Handshake, 0, 16, "TLSv1.3 x");
    b.outcome(OutcomeKind::Resumed, 0, 16, "ticket");
    b.outcome(OutcomeKind::EarlyData, static_cast<int>(EarlyDataStatus::Rejected), 16, "57 bytes");
    auto reader = TraceReader::from_bytes(b.finish());
    TraceWalker walker;
    walker.walk(*reader);
    EXPECT_FALSE(walker.early_data_of(1).has_value());
    EXPECT_EQ(walker.early_data_of(2), EarlyDataStatus::Accepted);
    EXPECT_EQ(walker.early_data_of(3), EarlyDataStatus::Rejected);
    EXPECT_FALSE(walker.early_data_of(99).has_value());
}

TEST(TraceWalker, TraceWithoutConnectionRecordsHasOneConnectionAfterSslSetup) {
    TraceBuilder b;
    b.phase(Phase::Setup);
    b.alloc(1000, 0x1000); // 1: shared
    b.activity(true, kActivitySslSetup);
    b.alloc(100, 0x2000); // 2: the connection
    b.activity(false, kActivitySslSetup);
    b.phase(Phase::Handshake).step(3);
    b.alloc(10, 0x3000);                 // 3
    b.activity(true, kActivitySslSetup); // a second ssl_setup changes nothing
    b.alloc(10, 0x4000);                 // 4
    b.phase(Phase::Teardown).free(0x1000);
    auto reader = TraceReader::from_bytes(b.finish());
    TraceWalker walker;
    ConnectionsSeen seen(walker);
    walker.walk(*reader, seen);
    EXPECT_EQ(seen.log, (std::vector<std::string>{
                            "alloc 1 #0 SETUP 0",
                            "alloc 2 #1 SETUP 0",
                            "alloc 3 #1 HANDSHAKE 3",
                            "alloc 4 #1 HANDSHAKE 3",
                            "free 5 of #0 by #1 TEARDOWN 3",
                        }));
    EXPECT_TRUE(seen.switches.empty());
    EXPECT_FALSE(walker.connection_records());
    EXPECT_EQ(walker.live_bytes_of(0), 0u);
    EXPECT_EQ(walker.live_bytes_of(1), 120u);
}

} // namespace
} // namespace tlsheap::trace
