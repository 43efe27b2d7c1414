// The Trace Event export (trace export --format chrome-trace) of a hand-made
// trace: its events worked out below from the trace (the builder gives every
// allocation and free 10 ns after the one before).
#include "../../replay/trace_builder.h"
#include "report/chrome_trace.h"

#include <gtest/gtest.h>
#include <sstream>

namespace tlsheap::report {
namespace {

using nlohmann::json;

// Set-up allocates 100 B (t 10) on the shared track; ssl_setup starts the
// connection's track; CLIENT_HELLO allocates 50 B (t 20) and sends a 120-byte
// ClientHello; SERVER_HELLO's allocation of 30 B fails (t 30) and it frees
// the 50 B (t 40); APPLICATION frees the 100 B (t 50). The state name of id
// 2 holds a byte that is not UTF-8.
std::vector<unsigned char> hand_made_trace() {
    tlsheap::testing::TraceBuilder b;
    b.state_name(0, "HELLO_REQUEST")
        .state_name(1, "CLIENT_HELLO")
        .state_name(2, "SERVER\xff")
        .meta("scenario.name", "hand-made")
        .phase(trace::Phase::Setup);
    b.alloc(100, 0x1000);
    b.activity(true, trace::kActivitySslSetup).phase(trace::Phase::Handshake).step(0).step_end(1);
    b.step(1);
    b.alloc(50, 0x2000);
    b.handshake(trace::Direction::Out, 120, {1}).step_end(2).step(2);
    b.alloc(30, 0);
    b.free(0x2000);
    b.phase(trace::Phase::Application);
    b.free(0x1000);
    return b.finish();
}

// The Chrome trace of `bytes`, with `options`' models.
json exported(const std::vector<unsigned char>& bytes, const replay::ReplayOptions& options) {
    const replay::ReplayResult models = [&] {
        auto reader = trace::TraceReader::from_bytes(bytes);
        return replay::replay_trace(*reader, options);
    }();
    auto reader = trace::TraceReader::from_bytes(bytes);
    trace::TraceWalker walker;
    std::ostringstream out;
    ChromeTraceWriter writer(out, walker, models);
    walker.walk(*reader, writer);
    writer.finish();
    return json::parse(out.str());
}

json exported() {
    replay::ReplayOptions options;
    options.models = {replay::ModelSpec::parse("ideal")};
    return exported(hand_made_trace(), options);
}

std::vector<json> of_kind(const json& doc, const std::string& ph, const std::string& name = "") {
    std::vector<json> events;
    for (const json& e : doc.at("traceEvents")) {
        if (e.at("ph") == ph && (name.empty() || e.at("name") == name)) {
            events.push_back(e);
        }
    }
    return events;
}

TEST(ChromeTrace, CountersFollowTheLiveBytesAndTheModel) {
    const json doc = exported();
    EXPECT_EQ(doc.at("otherData").at("scenario"), "hand-made");
    std::vector<std::pair<double, std::uint64_t>> live;
    for (const json& e : of_kind(doc, "C", "heap")) {
        live.emplace_back(e.at("ts"), e.at("args").at("live bytes"));
    }
    EXPECT_EQ(live, (std::vector<std::pair<double, std::uint64_t>>{
                        {0.01, 100}, {0.02, 150}, {0.03, 150}, {0.04, 100}, {0.05, 0}}));
    // The ideal model's footprint is the highest live bytes so far.
    std::vector<std::uint64_t> footprint;
    for (const json& e : of_kind(doc, "C", "footprint ideal")) {
        footprint.push_back(e.at("args").at("bytes"));
    }
    EXPECT_EQ(footprint, (std::vector<std::uint64_t>{100, 150, 150, 150, 150}));
}

TEST(ChromeTrace, ASlicePerStateOnTheConnectionsTrack) {
    const json doc = exported();
    struct Slice {
        unsigned tid;
        std::string name;
        double ts, dur;
        std::uint64_t allocations, bytes, peak;
        bool operator==(const Slice&) const = default;
    };
    std::vector<Slice> slices;
    for (const json& e : of_kind(doc, "X")) {
        slices.push_back({e.at("tid"), e.at("name"), e.at("ts"), e.at("dur"),
                          e.at("args").at("allocations"), e.at("args").at("bytes allocated"),
                          e.at("args").at("live peak")});
    }
    // Emitted as they end; the connection starts in SETUP (its ssl_setup);
    // the shared track's SETUP ends with the trace.
    const std::vector<Slice> expected = {
        {1, "SETUP", 0.01, 0.0, 0, 0, 100},
        {1, "HELLO_REQUEST", 0.01, 0.0, 0, 0, 100},
        {1, "CLIENT_HELLO", 0.01, 0.01, 1, 50, 150},
        {1, "SERVER\xef\xbf\xbd", 0.02, 0.02, 1, 0, 150},
        {0, "SETUP", 0.0, 0.05, 1, 100, 100},
        {1, "APPLICATION", 0.04, 0.01, 0, 0, 100},
    };
    ASSERT_EQ(slices.size(), expected.size()) << doc.dump(1);
    for (std::size_t i = 0; i < slices.size(); ++i) {
        EXPECT_TRUE(slices[i] == expected[i])
            << i << ": " << slices[i].name << " " << slices[i].ts << " " << slices[i].dur;
    }
    std::vector<std::string> tracks;
    for (const json& e : of_kind(doc, "M", "thread_name")) {
        tracks.push_back(e.at("args").at("name"));
    }
    EXPECT_EQ(tracks, (std::vector<std::string>{"set-up", "connection"}));
}

TEST(ChromeTrace, RecordsAndFailedAllocationsAreInstants) {
    const json doc = exported();
    const std::vector<json> instants = of_kind(doc, "i");
    ASSERT_EQ(instants.size(), 2u) << doc.dump(1);
    EXPECT_EQ(instants[0].at("name"), "out Handshake 120 B");
    EXPECT_EQ(instants[0].at("args").at("handshake messages"), json::array({"ClientHello"}));
    EXPECT_EQ(instants[0].at("tid"), 1);
    EXPECT_EQ(instants[0].at("ts"), 0.02);
    EXPECT_EQ(instants[1].at("name"), "allocation failed");
    EXPECT_EQ(instants[1].at("args").at("bytes"), 30);
    EXPECT_EQ(instants[1].at("ts"), 0.03);
}

// A DTLS record's instant says which record it is and what became of it.
TEST(ChromeTrace, DatagramRecordsCarryEpochSequenceAndFlags) {
    tlsheap::testing::TraceBuilder b;
    b.phase(trace::Phase::Handshake).alloc(10, 0x1000);
    b.datagram_record(trace::Direction::In, 22, 70, 0, 3,
                      trace::kRecordPlaintext | trace::kRecordRetransmission, {2});
    const std::vector<json> instants = of_kind(exported(b.finish(), {}), "i");
    ASSERT_EQ(instants.size(), 1u);
    EXPECT_EQ(instants[0].at("name"), "in Handshake 70 B");
    const json& args = instants[0].at("args");
    EXPECT_EQ(args.at("epoch"), 0);
    EXPECT_EQ(args.at("sequence"), 3);
    EXPECT_EQ(args.at("flags"), json::array({"plaintext", "retransmission", "datagram"}));
    EXPECT_EQ(args.at("handshake messages"), json::array({"ServerHello"}));
}

} // namespace
} // namespace tlsheap::report
