// The recorder's injection lines (recorder_protocol.h) as the host reads
// them: every way a run can end, and lines that must be refused.
#include "orchestration/injection_run.h"

#include <gtest/gtest.h>

namespace tlsheap::record {
namespace {

using recorder_protocol::RunEnd;

TEST(InjectionRun, FinishedRunGivesItsErrorStateAndLeaks) {
    const auto run = parse_injection_line(
        "injection\t1608\tfinished\t3\t1608\t392\t-28160\tSERVER_HELLO\t784\t2\t1601,1608\t"
        "handshake failed\n");
    ASSERT_TRUE(run);
    EXPECT_EQ(run->call, 1608u);
    EXPECT_EQ(run->end, RunEnd::Finished);
    EXPECT_EQ(run->code, 3);
    EXPECT_TRUE(run->reported);
    EXPECT_EQ(run->failed_call, 1608u);
    EXPECT_EQ(run->requested_bytes, 392u);
    EXPECT_EQ(run->ret, -0x6E00);
    EXPECT_EQ(run->state, "SERVER_HELLO");
    EXPECT_EQ(run->leaked_bytes, 784u);
    EXPECT_EQ(run->leaked_blocks, 2u);
    EXPECT_EQ(run->leak_calls, (std::vector<std::uint64_t>{1601, 1608}));
    EXPECT_EQ(run->text, "handshake failed");
}

TEST(InjectionRun, RunThatDidNotReportKeepsOnlyHowItEnded) {
    const auto run = parse_injection_line(
        "injection\t7\tsignal\t11\t-\t-\t-\t-\t-\t-\t-\tERROR: AddressSanitizer");
    ASSERT_TRUE(run);
    EXPECT_EQ(run->end, RunEnd::Signal);
    EXPECT_EQ(run->code, 11);
    EXPECT_FALSE(run->reported);
    EXPECT_EQ(run->text, "ERROR: AddressSanitizer");
    const auto stopped = parse_injection_line("injection\t9\tstopped\t12\t-\t-\t-\t-\t-\t-\t-\t-");
    ASSERT_TRUE(stopped);
    EXPECT_EQ(stopped->end, RunEnd::Stopped);
    EXPECT_EQ(stopped->text, "");
}

TEST(InjectionRun, MalformedLinesAreRefused) {
    for (const char* line : {
             "",
             "LISTENING 4433",
             "injection\t1\tfinished\t0",
             "injection\t0\tfinished\t0\t1\t8\t0\t-\t0\t0\t-\tcall 0 does not exist",
             "injection\t1\texploded\t0\t1\t8\t0\t-\t0\t0\t-\t-",
             "injection\t1\tfinished\t0\tx\t8\t0\t-\t0\t0\t-\t-",
             "injection\t1\tfinished\t0\t1\t-8\t0\t-\t0\t0\t-\t-",
             "injection\t1\tfinished\t0\t1\t8\t0\t-\t0\t0\t1,,2\t-",
             "injection\t1\tfinished\t0\t1\t8\t0\t-\t0\t0\t-\t-\textra",
             "injection\t99999999999999999999\tfinished\t0\t1\t8\t0\t-\t0\t0\t-\t-",
         }) {
        EXPECT_FALSE(parse_injection_line(line)) << line;
    }
}

} // namespace
} // namespace tlsheap::record
