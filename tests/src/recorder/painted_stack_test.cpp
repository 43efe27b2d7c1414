// The painted stack: each interval measures what ran in it alone, and the
// recorder's own work inside an excursion does not count.
#include "painted_stack.h"
#include "recorder_options.h"

#include <csignal>
#include <gtest/gtest.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace tlsheap::recorder {
namespace {

const bool kSanitized = !painted_stack_supported();

// A frame of a little more than `Bytes`, all written, as a function with a
// local buffer has.
template <unsigned Bytes>
__attribute__((noinline)) int use_stack() {
    volatile unsigned char buffer[Bytes];
    for (unsigned i = 0; i < Bytes; ++i) {
        buffer[i] = static_cast<unsigned char>(i);
    }
    return buffer[0];
}

struct Seen {
    bool active = false;
    std::size_t size = 0;
    std::uint64_t first = 0;     // an interval that wrote 8,000 bytes
    std::uint64_t second = 0;    // the next one, which wrote 2,000
    std::uint64_t excursion = 0; // 1,000 bytes, then 20,000 inside an excursion
};

template <unsigned Bytes, unsigned ExcursionBytes = 0>
__attribute__((noinline)) std::uint64_t interval_using() {
    restart_stack_interval(__builtin_frame_address(0));
    use_stack<Bytes>();
    if (ExcursionBytes > 0) {
        const StackExcursion excursion;
        use_stack<ExcursionBytes + 1>();
    }
    const StackInterval interval = measure_stack_interval();
    return interval.deepest - interval.base;
}

int measure_body(void* arg) {
    auto& seen = *static_cast<Seen*>(arg);
    seen.active = painted_stack_active();
    seen.size = painted_stack_size();
    seen.first = interval_using<8000>();
    seen.second = interval_using<2000>();
    seen.excursion = interval_using<1000, 20000>();
    return 42;
}

TEST(PaintedStack, EachIntervalMeasuresItsOwnDepthAndExcursionsDoNotCount) {
    Seen seen;
    int result = 0;
    const char* error = nullptr;
    ASSERT_TRUE(run_on_painted_stack(128 * 1024, measure_body, &seen, result, error));
    EXPECT_EQ(result, 42);
    EXPECT_FALSE(painted_stack_active()); // only while the body runs
    if (kSanitized) {
        // A sanitizer's redzones are not the device's frames: no painting.
        EXPECT_FALSE(seen.active);
        EXPECT_EQ(seen.first, 0u);
        return;
    }
    EXPECT_TRUE(seen.active);
    EXPECT_EQ(seen.size, 128u * 1024);
    // The buffer, plus use_stack's and interval_using's frames (under 1 KiB).
    EXPECT_GE(seen.first, 8000u);
    EXPECT_LT(seen.first, 8000u + 1024);
    // Repainted between intervals: the second does not see the first's depth.
    EXPECT_GE(seen.second, 2000u);
    EXPECT_LT(seen.second, 2000u + 1024);
    // The 20,000 bytes inside the excursion are left out.
    EXPECT_GE(seen.excursion, 1000u);
    EXPECT_LT(seen.excursion, 1000u + 1024);
}

TEST(PaintedStack, OutsideItNothingIsMeasured) {
    EXPECT_FALSE(painted_stack_active());
    EXPECT_EQ(painted_stack_size(), 0u);
    EXPECT_FALSE(painted_stack_overflowed(nullptr));
    const StackInterval interval = measure_stack_interval();
    EXPECT_EQ(interval.deepest, 0u);
    const StackExcursion excursion; // harmless
}

// Recursion deeper than any painted stack, each frame written.
__attribute__((noinline)) int bottomless(int n) {
    volatile unsigned char frame[512];
    frame[0] = static_cast<unsigned char>(n);
    frame[sizeof frame - 1] = frame[0];
    return n > (1 << 30) ? n : bottomless(n + 1) + frame[0];
}

int overflow_body(void*) {
    return bottomless(0);
}

constexpr int kGuardHit = 42;

extern "C" void on_overflow(int, siginfo_t* info, void*) {
    _exit(painted_stack_overflowed(info->si_addr) ? kGuardHit : 1);
}

// An overflow hits the guard page, and the fatal-signal handler, on its
// alternate stack, can tell it was the painted stack that ran out.
TEST(PaintedStack, OverflowHitsTheGuardPageAndIsRecognised) {
    if (kSanitized) {
        GTEST_SKIP() << "a sanitizer build does not paint (see painted_stack.cpp)";
    }
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        struct sigaction action {};
        action.sa_sigaction = on_overflow;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigaction(SIGSEGV, &action, nullptr);
        int result = 0;
        const char* error = nullptr;
        run_on_painted_stack(64 * 1024, overflow_body, nullptr, result, error);
        _exit(2); // not reached
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), kGuardHit);
}

RecorderOptions parse(std::vector<std::string> args, std::string& error) {
    args.insert(args.begin(), "tlsheap-recorder");
    args.insert(args.end(), {"--connect", "127.0.0.1:1"});
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    RecorderOptions o;
    if (!parse_recorder_options(static_cast<int>(argv.size()), argv.data(), o, error)) {
        o.stack_size = 1; // marks a refusal
    }
    return o;
}

TEST(PaintedStack, StackSizeOptionIsBounded) {
    std::string error;
    EXPECT_EQ(parse({}, error).stack_size, 0u); // unless asked
    EXPECT_EQ(parse({"--stack-size", std::to_string(recorder_protocol::kPaintedStackBytes)}, error)
                  .stack_size,
              recorder_protocol::kPaintedStackBytes);
    EXPECT_EQ(parse({"--stack-size", "0"}, error).stack_size, 0u);
    EXPECT_EQ(parse({"--stack-size", "131072"}, error).stack_size, 131072u);
    EXPECT_EQ(parse({"--stack-size", "4096"}, error).stack_size, 1u);
    EXPECT_NE(error.find("--stack-size takes 0 (no painted stack) or 65536"), std::string::npos)
        << error;
    EXPECT_EQ(parse({"--stack-size", "99999999999"}, error).stack_size, 1u);
}

} // namespace
} // namespace tlsheap::recorder
