// A numeric option out of range, malformed or beyond its type (issue 15):
// one line that names the option and the value, exit status 2, and nothing
// built or recorded first. Each run gets an empty cache and must leave it
// empty, so these runs take milliseconds and a check that came too late
// shows as a wrong message (the cache has no mbedTLS sources to build).
#include "tlsheap_harness.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <ostream>
#include <unistd.h>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;

struct BadOption {
    std::vector<std::string> args;
    std::string message; // after "tlsheap: error: "
};

std::ostream& operator<<(std::ostream& out, const BadOption& c) {
    // The trace by its name only: the test's name stays the same on every machine.
    for (const std::string& a : c.args) {
        out << (a.starts_with('/') ? fs::path(a).filename().string() : a) << ' ';
    }
    return out;
}

std::string sample_trace() {
    return (fs::path(TLSHEAP_SOURCE_DIR) / "traces" / "tls12-ecdhe-ecdsa-p256.trace").string();
}

class BadOptionTest : public ::testing::TestWithParam<BadOption> {
  protected:
    void SetUp() override {
        cache_ = fs::path(TLSHEAP_TEST_CACHE).parent_path() /
                 ("bad-option-cache-" + std::to_string(::getpid()));
        fs::remove_all(cache_);
        fs::create_directories(cache_);
    }
    void TearDown() override { fs::remove_all(cache_); }
    fs::path cache_;
};

TEST_P(BadOptionTest, IsOneLineNamingTheOptionAndTheValue) {
    const BadOption& c = GetParam();
    const RunResult r = run_tlsheap(c.args, cache_, 60);
    EXPECT_EQ(r.status, 2) << r.err;
    const std::vector<std::string> lines = r.error_lines();
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines.front(), "tlsheap: error: " + c.message);
    EXPECT_TRUE(fs::is_empty(cache_)) << "the run wrote to its cache before refusing the option";
}

// Wrapped, rounded or "could not convert" once; the comment says how.
INSTANTIATE_TEST_SUITE_P(
    Ports, BadOptionTest,
    ::testing::Values(
        // Wrapped to 4464 and ran a whole profile.
        BadOption{{"profile", "--port", "70000"}, "--port must be between 1 and 65535, not 70000"},
        BadOption{{"profile", "--port", "-1"}, "--port must be between 1 and 65535, not '-1'"},
        BadOption{{"capacity", "--port", "65536"},
                  "--port must be between 1 and 65535, not 65536"}));

INSTANTIATE_TEST_SUITE_P(
    Timeouts, BadOptionTest,
    ::testing::Values(
        // "not listening after -9223372036854775808 ms".
        BadOption{{"profile", "--timeout", "nan"},
                  "--timeout must be between 0.001 and 3600 seconds, not 'nan'"},
        BadOption{{"profile", "--timeout", "inf"},
                  "--timeout must be between 0.001 and 3600 seconds, not 'inf'"},
        BadOption{{"profile", "--timeout", "1e400"},
                  "--timeout must be between 0.001 and 3600 seconds, not '1e400'"},
        // Rounded to a wait of 0 ms.
        BadOption{{"profile", "--timeout", "0.0001"},
                  "--timeout must be between 0.001 and 3600 seconds, not 0.0001"},
        // sweep, advise and capacity checked no timeout at all.
        BadOption{{"sweep", "--timeout", "-1"},
                  "--timeout must be between 0.001 and 3600 seconds, not '-1'"},
        BadOption{{"advise", sample_trace(), "--timeout", "nan"},
                  "--timeout must be between 0.001 and 3600 seconds, not 'nan'"},
        BadOption{{"capacity", "--timeout", "3601"},
                  "--timeout must be between 0.001 and 3600 seconds, not 3601"},
        BadOption{{"oom", "--timeout", "0"},
                  "--timeout must be between 0.001 and 3600 seconds, not 0"}));

INSTANTIATE_TEST_SUITE_P(
    Counts, BadOptionTest,
    ::testing::Values(
        // Ran as 1/2.
        BadOption{{"sweep", "--shard", "4294967297/4294967298"},
                  "--shard needs I/N with 1 <= I <= N <= 10000, not '4294967297/4294967298'"},
        // A bare "stoul".
        BadOption{{"sweep", "--shard", "1/99999999999999999999"},
                  "--shard needs I/N with 1 <= I <= N <= 10000, not '1/99999999999999999999'"},
        BadOption{{"oom", "--runners", "0"}, "--runners must be between 1 and 16, not 0"},
        // Refused only after the variant was built and the handshake recorded.
        BadOption{{"profile", "--model", "bogus"},
                  "unknown model 'bogus' (models: ideal, mbedtls-pool, freertos-heap4, esp-tlsf, "
                  "umm)"},
        BadOption{{"capacity", "--scenario", "tls12-ecdhe-ecdsa-p256", "--heap", "9000", "--model",
                   "umm:fit=worst"},
                  "bad value 'worst' for option 'fit' of model umm (expected one of best, first)"},
        BadOption{{"oom", "--calls", "99999999999999999999"},
                  "--calls takes K or FIRST-LAST (calls of mbedtls_calloc from 1), not "
                  "'99999999999999999999'"},
        BadOption{{"oom", "--calls", "7-"},
                  "--calls takes K or FIRST-LAST (calls of mbedtls_calloc from 1), not '7-'"},
        BadOption{{"sweep", "--repeat", "4294967297"},
                  "--repeat must be between 1 and 100, not 4294967297"},
        BadOption{{"gate", "--baseline", "b.json", "--repeat", "0"},
                  "--repeat must be between 1 and 100, not 0"},
        // -j 0 silently meant all cores.
        BadOption{{"profile", "-j", "0"}, "--jobs must be between 1 and 1024, not 0"},
        BadOption{{"sweep", "--jobs", "99999999999"},
                  "--jobs must be between 1 and 1024, not 99999999999"},
        BadOption{{"profile", "--connections", "4294967297"},
                  "--connections must be between 1 and 256, not 4294967297"},
        BadOption{{"profile", "--reconnects", "1x"},
                  "--reconnects must be between 1 and 100000, not '1x'"},
        BadOption{{"replay", sample_trace(), "--top", "99999999999"},
                  "--top must be between 0 and 1000000, not 99999999999"},
        BadOption{{"diff", "a.json", "b.json", "--top", "-1"},
                  "--top must be between 0 and 1000000, not '-1'"},
        // --limit 0 silently listed every event; -1 wrapped to 2^64-1.
        BadOption{{"trace", "show", sample_trace(), "--limit", "0"},
                  "--limit must be at least 1, not 0"},
        BadOption{{"trace", "show", sample_trace(), "--limit", "-1"},
                  "--limit must be at least 1, not '-1'"},
        BadOption{{"advise", sample_trace(), "--only", "1,4294967297"},
                  "--only must be between 1 and 1000, not 4294967297"}));

INSTANTIATE_TEST_SUITE_P(
    Bytes, BadOptionTest,
    ::testing::Values(
        // --real-pool 0 silently recorded on libc malloc; -5 wrapped.
        BadOption{{"profile", "--real-pool", "0"},
                  "--real-pool must be between 128 and 268435456 bytes, not 0"},
        BadOption{{"profile", "--real-pool", "-5"},
                  "--real-pool must be between 128 and 268435456 bytes, not '-5'"},
        BadOption{{"profile", "--real-pool", "18446744073709551616"},
                  "--real-pool must be between 128 and 268435456 bytes, not 18446744073709551616"},
        BadOption{{"replay", sample_trace(), "--pool", "0"},
                  "--heap must be between 1 and 1099511627776 bytes, not 0"},
        BadOption{{"sweep", "--heap", "0x10"},
                  "--heap must be between 1 and 1099511627776 bytes, not '0x10'"},
        BadOption{{"capacity", sample_trace(), "--heap", "99999999999999999999"},
                  "--heap must be between 1 and 1099511627776 bytes, not 99999999999999999999"},
        // A bare "stoull".
        BadOption{{"gate", "--baseline", "b.json", "--max-increase", "99999999999999999999"},
                  "--max-increase is bytes or a percentage (0, 512, 2%), not "
                  "'99999999999999999999'"},
        BadOption{{"replay", sample_trace(), "--app-heap", "hold=99999999999999999999"},
                  "--app-heap hold: a block size is a number of bytes from 1 to 1073741824, not "
                  "'99999999999999999999'"},
        BadOption{{"replay", sample_trace(), "--model", "mbedtls-pool:align=4294967300"},
                  "bad value '4294967300' for option 'align' of model mbedtls-pool (expected a "
                  "number from 1 to 4096)"}));

// What --connect changes in the scenario: each option needs --connect, and
// a malformed value, a lone half of a pair or a missing file is refused
// before anything is fetched, built or connected to.
INSTANTIATE_TEST_SUITE_P(
    Connect, BadOptionTest,
    ::testing::Values(
        BadOption{{"profile", "--psk", "00112233", "--psk-identity", "dev"},
                  "--protocol, --ciphersuite, --group, --psk, --client-cert, --request and "
                  "--read-until describe a server you run: they need --connect (a local peer "
                  "follows the scenario)"},
        BadOption{{"profile", "--connect", "127.0.0.1:1", "--protocol", "tls1.4"},
                  "--protocol takes tls1.2, tls1.3 or any, not 'tls1.4'"},
        BadOption{{"profile", "--connect", "127.0.0.1:1", "--psk", "0011"},
                  "--psk and --psk-identity go together"},
        BadOption{{"profile", "--connect", "127.0.0.1:1", "--psk", "00x1", "--psk-identity", "d"},
                  "--psk takes the key in hex digits, two a byte, at most 256 bytes"},
        BadOption{{"profile", "--connect", "127.0.0.1:1", "--client-key", "k.pem"},
                  "--client-cert and --client-key go together"},
        BadOption{{"profile", "--connect", "127.0.0.1:1", "--client-cert", "/nonexistent/c.pem",
                   "--client-key", "/nonexistent/k.pem"},
                  "credential file /nonexistent/c.pem does not exist (or is not a file)"},
        BadOption{{"profile", "--connect", "127.0.0.1:1", "--request", "GET /\\q"},
                  "--request: unknown escape \\q (\\r \\n \\t \\0 \\\\ \\\" \\xHH)"},
        BadOption{{"profile", "--connect", "127.0.0.1:1", "--request", "\\x4"},
                  "--request: \\x needs two hex digits"},
        BadOption{{"profile", "--connect", "127.0.0.1:1", "--read-until", "quiet:0"},
                  "--read-until takes response, close, bytes:N (1 to 1073741824) or quiet:MS (1 "
                  "to 600000), not 'quiet:0'"},
        BadOption{{"profile", "--connect", "127.0.0.1:1", "--scenario", "mqtt-tls12-mutual-rsa",
                   "--read-until", "close"},
                  "--request and --read-until shape an HTTP exchange; scenario "
                  "mqtt-tls12-mutual-rsa runs an MQTT session"},
        BadOption{{"profile", "--connect", "127.0.0.1:1", "--read-until", "forever"},
                  "--read-until takes response, close, bytes:N (1 to 1073741824) or quiet:MS (1 "
                  "to 600000), not 'forever'"}));

// What the command-line parser finds wrong, in tlsheap's words rather than
// CLI11's ("--json: At Most 1 required but received 2", "trace is required",
// "The following argument was not expected: b").
INSTANTIATE_TEST_SUITE_P(
    CommandLine, BadOptionTest,
    ::testing::Values(
        BadOption{{"replay", sample_trace(), "--json", "a.json", "--json", "b.json"},
                  "--json is given 2 times; give it once (see tlsheap replay --help)"},
        BadOption{{"replay"},
                  "tlsheap replay needs its TRACE argument (see tlsheap replay --help)"},
        BadOption{{"diff", "a.json"},
                  "tlsheap diff needs its B argument (see tlsheap diff --help)"},
        BadOption{{"gate"}, "tlsheap gate needs --baseline (see tlsheap gate --help)"},
        BadOption{{"replay", sample_trace(), "b"},
                  "unexpected argument b for tlsheap replay (see tlsheap replay --help)"},
        BadOption{{"profile", "--bogus"},
                  "unknown option --bogus for tlsheap profile (see tlsheap profile --help)"},
        BadOption{{"profile", "--scenario"},
                  "--scenario needs a value (see tlsheap profile --help)"},
        BadOption{{"trace"},
                  "tlsheap trace needs a command: show, export (see tlsheap trace --help)"},
        BadOption{{"trace", "show"},
                  "tlsheap trace show needs its TRACE argument (see tlsheap trace show --help)"}));

} // namespace
} // namespace tlsheap::testing
