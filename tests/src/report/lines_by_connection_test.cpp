// Lines a lifecycle recording repeats per connection, printed once with the
// connections that had them: the grouping by hand, then the report of the
// committed recording of 2 x 2 connections, against its replay result.
#include "../printed_text.h"
#include "report/lines_by_connection.h"
#include "report/terminal_profile.h"
#include "tlsheap/replay_engine.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <sstream>

namespace tlsheap::report {
namespace {

TEST(LinesByConnection, EqualLinesOfManyConnectionsAreOneLineWithTheirRanges) {
    LinesByConnection lines;
    for (std::uint32_t c : {1u, 2u, 3u, 4u, 6u}) {
        lines.add("handshake: ok", c);
    }
    lines.add("FAILED in SERVER_HELLO: timeout", 5);
    lines.add("handshake: ok", 4); // a second line of connection 4
    const std::vector<std::string> expected = {
        "handshake: ok, in 5 connections: #1-#4, #6 (6 times)",
        "FAILED in SERVER_HELLO: timeout, in connection #5"};
    EXPECT_EQ(lines.lines(), expected);
}

TEST(LinesByConnection, OneConnectionsLinesStayAsTheyAre) {
    LinesByConnection lines;
    lines.add("Record buffer in_buf", 1);
    lines.add("Record buffer out_buf", 1);
    lines.add("Record buffer in_buf", 1);
    // As they came, the repeat of a line its own line.
    const std::vector<std::string> expected = {"Record buffer in_buf", "Record buffer out_buf",
                                               "Record buffer in_buf"};
    EXPECT_EQ(lines.lines(), expected);
    EXPECT_TRUE(LinesByConnection().lines().empty());
}

TEST(LinesByConnection, RangesStopAfterTheMostAsked) {
    EXPECT_EQ(connection_ranges({1, 3, 5, 7, 9, 11}), "#1, #3, #5, #7, ...");
    EXPECT_EQ(connection_ranges({2, 3, 4, 9}, 1), "#2-#4, ...");
    EXPECT_EQ(connection_ranges({7}), "#7");
    EXPECT_EQ(connection_ranges({}), "");
}

std::string render(const replay::ReplayResult& result) {
    RunDescription run;
    run.trace_path = "t";
    return tlsheap::testing::printed_text(
        [&](std::FILE* out) { print_profile(out, run, result, {}); });
}

std::vector<std::string> lines_containing(const std::string& text, const std::string& part) {
    std::vector<std::string> found;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.find(part) != std::string::npos) {
            found.push_back(line);
        }
    }
    return found;
}

// Two cycles of two connections at once: four handshakes, four exchanges and
// eight record buffers, every connection's the same.
TEST(LinesByConnection, TheReportOfFourConnectionsSaysEachOutcomeOnce) {
    trace::TraceReader reader(std::string(TLSHEAP_SOURCE_DIR) +
                              "/traces/tls12-ecdhe-ecdsa-p256-2x2-together.trace");
    const replay::ReplayResult r = replay::replay_trace(reader, replay::ReplayOptions{});
    ASSERT_EQ(r.connections, 4u);
    // Each connection's steps, counted at its handshake's outcome, add up
    // to the steps of every state: no step follows a handshake.
    std::uint64_t state_steps = 0;
    for (const replay::StateFigures& s : r.states) {
        state_steps += s.steps;
    }
    std::uint64_t outcome_steps = 0;
    std::vector<std::uint32_t> handshakes;
    for (const replay::Outcome& o : r.outcomes) {
        if (o.kind == trace::OutcomeKind::Handshake) {
            outcome_steps += o.steps;
            handshakes.push_back(o.connection);
            EXPECT_EQ(o.steps, r.outcomes.front().steps);
        }
    }
    std::sort(handshakes.begin(), handshakes.end());
    EXPECT_EQ(handshakes, (std::vector<std::uint32_t>{1, 2, 3, 4}));
    EXPECT_EQ(outcome_steps, state_steps);
    ASSERT_EQ(r.record_buffers.size(), 8u);

    const std::string text = render(r);
    const std::vector<std::string> handshake = lines_containing(text, "  handshake: ");
    ASSERT_EQ(handshake.size(), 1u) << text;
    EXPECT_EQ(handshake[0], "  handshake: " + r.outcomes.front().text + " (" +
                                std::to_string(state_steps / 4) +
                                " steps), in 4 connections: #1-#4");
    const std::vector<std::string> application = lines_containing(text, "  application data: ");
    ASSERT_EQ(application.size(), 1u) << text;
    EXPECT_NE(application[0].find(", in 4 connections: #1-#4"), std::string::npos);
    const std::vector<std::string> buffers = lines_containing(text, "Record buffer   ");
    ASSERT_EQ(buffers.size(), 2u) << text;
    for (const std::string& line : buffers) {
        EXPECT_NE(line.find(", in 4 connections: #1-#4"), std::string::npos) << line;
    }
}

} // namespace
} // namespace tlsheap::report
