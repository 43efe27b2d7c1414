// The classes of `tlsheap oom`, by the rules worked out by hand from how a
// run can end (recorder_protocol.h), and the counts per site and state.
#include "analysis/allocation_failures.h"

#include <gtest/gtest.h>

namespace tlsheap::analysis {
namespace {

using recorder_protocol::RunEnd;

// mbedTLS 3.6.6's codes the cases use (include/mbedtls/*.h).
constexpr int kSslAllocFailed = -0x7F00;
constexpr int kX509CertVerifyFailed = -0x2700;
constexpr int kMpiAllocFailed = -0x0010;
constexpr int kX509InvalidFormat = -0x2180;
constexpr int kPsaInsufficientMemory = -141;

ErrorMeaning meaning() {
    return {[](int ret) {
                const int code = -ret;
                return ret == kSslAllocFailed || ret == kPsaInsufficientMemory ||
                       (code & 0x7F) == -kMpiAllocFailed;
            },
            [](int ret) { return "E" + std::to_string(ret); }};
}

record::InjectionRun finished(std::uint64_t call, long status, int ret) {
    record::InjectionRun r;
    r.call = call;
    r.end = RunEnd::Finished;
    r.code = status;
    r.reported = true;
    r.failed_call = call;
    r.requested_bytes = 8;
    r.ret = ret;
    return r;
}

std::vector<AllocationPoint> baseline() {
    return {{"mbedtls_ssl_setup (library/ssl_tls.c:1410)", "SETUP", "SETUP", 1, 8},
            {"mbedtls_mpi_grow (library/bignum.c:218)", "SERVER_CERTIFICATE", "HANDSHAKE", 1, 8},
            {"gcm_ctx_alloc (library/cipher_wrap.c:123)", "SERVER_HELLO", "HANDSHAKE", 1, 8}};
}

TEST(AllocationFailures, EachWayARunEndsHasItsClass) {
    std::vector<record::InjectionRun> runs;
    runs.push_back(finished(1, 3, kSslAllocFailed));                      // clean
    runs.push_back(finished(2, 3, kX509CertVerifyFailed));                // hidden
    runs.push_back(finished(2, 3, kX509InvalidFormat + kMpiAllocFailed)); // clean: low part
    runs.push_back(finished(3, 0, 0));                                    // success
    auto leak = finished(3, 3, -0x6E00);
    leak.leaked_blocks = 2;
    leak.leaked_bytes = 784;
    leak.leak_calls = {1, 3};
    runs.push_back(leak);
    runs.push_back(finished(1, 4, -1)); // waited for the peer: hang
    record::InjectionRun stopped;
    stopped.call = 2;
    stopped.end = RunEnd::Stopped;
    stopped.code = 12;
    runs.push_back(stopped);
    record::InjectionRun signal;
    signal.call = 3;
    signal.end = RunEnd::Signal;
    signal.code = 11;
    runs.push_back(signal);
    record::InjectionRun sanitizer;
    sanitizer.call = 3;
    sanitizer.end = RunEnd::Exited;
    sanitizer.code = 1;
    sanitizer.text = "==1==ERROR: AddressSanitizer: heap-use-after-free";
    runs.push_back(sanitizer);
    runs.push_back(finished(1, 2, kPsaInsufficientMemory)); // a credential: clean

    const AllocationFailureSweep s = classify_injections(runs, baseline(), meaning());
    const std::vector<FailureClass> expected = {
        FailureClass::Clean, FailureClass::Hidden, FailureClass::Clean, FailureClass::Success,
        FailureClass::Leak,  FailureClass::Hang,   FailureClass::Hang,  FailureClass::Crash,
        FailureClass::Crash, FailureClass::Clean};
    ASSERT_EQ(s.runs.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(s.runs[i].kind, expected[i]) << i << ": " << s.runs[i].detail;
    }
    EXPECT_EQ(s.runs[7].detail, "SIGSEGV");
    EXPECT_NE(s.runs[8].detail.find("heap-use-after-free"), std::string::npos);
    // Call 1 was made before the failed call 3: the baseline names it; call
    // 3 is the failed one's own, so it was made on the error path.
    EXPECT_EQ(s.runs[4].leak_sites,
              (std::vector<std::string>{"mbedtls_ssl_setup (library/ssl_tls.c:1410)",
                                        "call 3, on the error path"}));
    EXPECT_TRUE(s.findings());
    EXPECT_EQ(s.counts, (ClassCounts{3, 1, 1, 1, 2, 2}));
    EXPECT_EQ(s.by_state.at("SETUP"), (ClassCounts{2, 0, 0, 0, 1, 0}));
    EXPECT_EQ(s.by_site.at("gcm_ctx_alloc (library/cipher_wrap.c:123)"),
              (ClassCounts{0, 0, 1, 1, 0, 2}));
    EXPECT_EQ(s.diverged, 0u);
}

// A pool sweep: the run's parameter is the pool, the failed call the first
// the pool refused; the largest failing pool per state is kept.
TEST(AllocationFailures, PoolSweepNamesTheCallThePoolRefused) {
    auto fits = finished(4000, 0, 0);
    fits.failed_call = 0;
    auto hello = finished(3996, 3, -0x6E00);
    hello.failed_call = 3;
    auto setup = finished(1200, 3, kSslAllocFailed);
    setup.failed_call = 1;
    auto setup_larger = finished(1300, 3, kSslAllocFailed);
    setup_larger.failed_call = 1;
    const AllocationFailureSweep s =
        classify_injections({fits, hello, setup_larger, setup}, baseline(), meaning(), true);
    EXPECT_EQ(s.runs[0].kind, FailureClass::Success);
    EXPECT_EQ(s.runs[1].kind, FailureClass::Hidden);
    EXPECT_EQ(s.by_site.at("gcm_ctx_alloc (library/cipher_wrap.c:123)"),
              (ClassCounts{0, 1, 0, 0, 0, 0}));
    EXPECT_EQ(s.largest_failed_pool, 3996u);
    EXPECT_EQ(s.largest_failing_pool.at("SERVER_HELLO"), 3996u);
    EXPECT_EQ(s.largest_failing_pool.at("SETUP"), 1300u);
    EXPECT_EQ(s.largest_failing_pool.count("SERVER_CERTIFICATE"), 0u);
    EXPECT_EQ(s.diverged, 0u);
    EXPECT_EQ(failed_point(fits, baseline(), true), nullptr);
}

TEST(AllocationFailures, CleanAndHiddenAloneAreNoFindingAndOtherBytesAreADivergence) {
    auto other_bytes = finished(2, 3, kX509CertVerifyFailed);
    other_bytes.requested_bytes = 9;
    const AllocationFailureSweep s =
        classify_injections({finished(1, 3, kSslAllocFailed), other_bytes}, baseline(), meaning());
    EXPECT_FALSE(s.findings());
    EXPECT_EQ(s.diverged, 1u);
}

} // namespace
} // namespace tlsheap::analysis
