// What the HTML report draws over time, from a hand-made trace of two
// connections: the bands of states and phases per connection (worked out by
// hand below), the TLS records, the failed allocation, the bytes allocated
// per state, and the data block's escaping.
#include "../../replay/trace_builder.h"
#include "report/html_report.h"
#include "report/html_timeline.h"

#include <gtest/gtest.h>

namespace tlsheap::report {
namespace {

using nlohmann::json;

// seq 1: the shared part allocates 100 B in SETUP. Connection 1 enters the
// handshake (HELLO_REQUEST, then CLIENT_HELLO), allocates 50 B (seq 2), sends
// a ClientHello of 120 B, steps to SERVER_HELLO, fails to allocate 30 B
// (seq 3), frees its 50 B (seq 4) and is torn down. Connection 2 steps into
// CLIENT_HELLO, allocates 70 B (seq 5), is torn down and frees them (seq 6).
std::vector<unsigned char> two_connections() {
    tlsheap::testing::TraceBuilder b;
    b.state_name(0, "HELLO_REQUEST")
        .state_name(1, "CLIENT_HELLO")
        .state_name(2, "SERVER_HELLO")
        .phase(trace::Phase::Setup);
    b.alloc(100, 0x1000);
    b.connection(1).phase(trace::Phase::Handshake).step(0).step_end(1).step(1);
    b.alloc(50, 0x2000);
    b.handshake(trace::Direction::Out, 120, {1}).step_end(2).step(2);
    b.alloc(30, 0);
    b.free(0x2000);
    b.phase(trace::Phase::Teardown);
    b.connection(2).phase(trace::Phase::Handshake).step(1);
    b.alloc(70, 0x3000);
    b.phase(trace::Phase::Teardown);
    b.free(0x3000);
    return b.finish();
}

struct Collected {
    replay::ReplayResult replayed;
    json timeline;
};

Collected collect() {
    const std::vector<unsigned char> bytes = two_connections();
    Collected c;
    replay::ReplayOptions options;
    options.series_points = 100; // more than the events: a point each
    {
        auto reader = trace::TraceReader::from_bytes(bytes);
        c.replayed = replay::replay_trace(*reader, options);
    }
    auto reader = trace::TraceReader::from_bytes(bytes);
    trace::TraceWalker walker;
    HtmlTimelineCollector collector(walker, c.replayed.series);
    walker.walk(*reader, collector);
    c.timeline = collector.finish();
    return c;
}

TEST(HtmlTimeline, BandsFollowEachConnectionsStatesAndEndAtItsTeardown) {
    const json bands = collect().timeline.at("bands");
    // [connection, name, in the handshake, after event, until event]: closed
    // in the order they ended, then those still open, by connection. A torn
    // down connection's band ends at its last event (connection 1: seq 4),
    // the shared part's at the trace's last.
    const json expected = json::parse(R"([
        [1, "SETUP", false, 1, 1],
        [1, "HELLO_REQUEST", true, 1, 1],
        [1, "CLIENT_HELLO", true, 1, 2],
        [1, "SERVER_HELLO", true, 2, 4],
        [2, "SETUP", false, 4, 4],
        [2, "HELLO_REQUEST", true, 4, 4],
        [2, "CLIENT_HELLO", true, 4, 5],
        [0, "SETUP", false, 0, 6],
        [1, "TEARDOWN", false, 4, 4],
        [2, "TEARDOWN", false, 5, 6]])");
    EXPECT_EQ(bands, expected) << bands.dump();
}

TEST(HtmlTimeline, RecordsFailuresAndPointEvents) {
    const Collected c = collect();
    EXPECT_EQ(c.timeline.at("records"),
              json::parse(R"([[2, 1, "out", 22, 120, ["ClientHello"]]])"));
    ASSERT_EQ(c.timeline.at("failed").size(), 1u);
    EXPECT_EQ(c.timeline.at("failed")[0][0], 3);
    EXPECT_EQ(c.timeline.at("failed")[0][1], 30);
    // Each series point's event: what it was and its bytes.
    std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> events;
    for (const json& e : c.timeline.at("events")) {
        events[e[0]] = {e[1], e[2]};
    }
    ASSERT_EQ(events.size(), c.replayed.series.size());
    const std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> expected = {
        {1, {"alloc", 100}}, {2, {"alloc", 50}}, {3, {"failed alloc", 30}},
        {4, {"free", 50}},   {5, {"alloc", 70}}, {6, {"free", 70}}};
    for (const auto& [seq, what] : events) {
        EXPECT_EQ(what, expected.at(seq)) << seq;
    }
}

// A DTLS record's mark has a seventh item: epoch, sequence and flags.
TEST(HtmlTimeline, DatagramRecordsSayWhichRecordTheyAre) {
    tlsheap::testing::TraceBuilder b;
    b.phase(trace::Phase::Handshake).alloc(10, 0x1000);
    b.datagram_record(trace::Direction::Out, 22, 112, 0, 2,
                      trace::kRecordPlaintext | trace::kRecordFragment | trace::kRecordDropped,
                      {11});
    auto reader = trace::TraceReader::from_bytes(b.finish());
    trace::TraceWalker walker;
    const std::vector<replay::SeriesPoint> no_points;
    HtmlTimelineCollector collector(walker, no_points);
    walker.walk(*reader, collector);
    EXPECT_EQ(collector.finish().at("records"), json::parse(R"([[1, 0, "out", 22, 112,
        ["Certificate"],
        {"epoch": 0, "sequence": 2, "flags": ["plaintext", "fragment", "dropped", "datagram"]}]])"));
}

TEST(HtmlTimeline, AllocatedPerStateAddsEveryConnectionsBytes) {
    const json flame = collect().timeline.at("allocated_by_state");
    // The stacks are not described: one [unknown] frame under each state.
    EXPECT_EQ(flame.at("frames"), json::parse(R"(["SETUP", "[unknown]", "CLIENT_HELLO"])"));
    EXPECT_EQ(flame.at("stacks"), json::parse("[[100, 0, 1], [120, 2, 1]]"));
}

// A trace may come from someone else: the page holds at most kMostMarks TLS
// records, and counts the rest.
TEST(HtmlTimeline, MarksAreBoundedAndTheRestCounted) {
    tlsheap::testing::TraceBuilder b;
    b.phase(trace::Phase::Handshake).step(1);
    b.alloc(10, 0x1000);
    const std::size_t records = HtmlTimelineCollector::kMostMarks + 5;
    for (std::size_t i = 0; i < records; ++i) {
        b.handshake(trace::Direction::In, 5, {});
    }
    b.free(0x1000);
    auto reader = trace::TraceReader::from_bytes(b.finish());
    trace::TraceWalker walker;
    const std::vector<replay::SeriesPoint> no_series;
    HtmlTimelineCollector collector(walker, no_series);
    walker.walk(*reader, collector);
    const json timeline = collector.finish();
    EXPECT_EQ(timeline.at("records").size(), HtmlTimelineCollector::kMostMarks);
    EXPECT_EQ(timeline.at("left_out").at("records"), 5);
    EXPECT_EQ(timeline.at("left_out").at("bands"), 0);
}

// Names from a trace end the data block of the page nowhere: every '<', '>'
// and '&' of the data is a JSON escape.
TEST(HtmlPage, DataCannotCloseItsScriptBlock) {
    const json views =
        json::array({html_document_view("</script><script>alert(1)</script>", json::object())});
    const std::string page = html_page("a <title> & more", "profile", views);
    const std::size_t data = page.find("id=\"tlsheap-data\">");
    ASSERT_NE(data, std::string::npos);
    const std::size_t end = page.find("</script>", data);
    const std::string block = page.substr(data, end - data);
    EXPECT_EQ(block.find('<'), std::string::npos);
    EXPECT_NE(block.find("\\u003c/script\\u003e"), std::string::npos);
    EXPECT_NE(page.find("<title>a &lt;title&gt; &amp; more</title>"), std::string::npos);
    // The page fetches nothing: no src, no href, no https address, and the
    // only http one is SVG's namespace, which names and fetches nothing.
    EXPECT_EQ(page.find("https:"), std::string::npos);
    EXPECT_EQ(page.find(" src="), std::string::npos);
    EXPECT_EQ(page.find(" href="), std::string::npos);
    const std::string svg_namespace = "http://www.w3.org/2000/svg";
    for (std::size_t at = page.find("http:"); at != std::string::npos;
         at = page.find("http:", at + 1)) {
        EXPECT_EQ(page.compare(at, svg_namespace.size(), svg_namespace), 0) << page.substr(at, 60);
    }
}

} // namespace
} // namespace tlsheap::report
