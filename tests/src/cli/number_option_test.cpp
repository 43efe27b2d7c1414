// Numbers as typed: what tlsheap/number_text.h accepts, and the one message a
// numeric option gives when it refuses one.
#include "cli/number_option.h"
#include "tlsheap/number_text.h"
#include "tlsheap/user_error.h"

#include <gtest/gtest.h>

namespace tlsheap::cli {
namespace {

TEST(WholeNumber, DigitsOnlyAndNeverWrapped) {
    EXPECT_EQ(whole_number("0"), 0u);
    EXPECT_EQ(whole_number("0070000"), 70000u);
    EXPECT_EQ(whole_number("18446744073709551615"), 18446744073709551615u);
    for (const char* text : {"", "-1", "+1", " 1", "1 ", "1k", "0x10", "1.0", "1e3", "nan",
                             "18446744073709551616", "99999999999999999999999"}) {
        EXPECT_FALSE(whole_number(text).has_value()) << text;
    }
}

TEST(DecimalNumber, DigitsAndOneFractionFiniteOnly) {
    EXPECT_EQ(decimal_number("10"), 10.0);
    EXPECT_EQ(decimal_number("0.5"), 0.5);
    for (const char* text :
         {"", ".5", "5.", "-1", "+1", "1e3", "nan", "inf", "infinity", "1.2.3", " 1", "1,5"}) {
        EXPECT_FALSE(decimal_number(text).has_value()) << text;
    }
    // Beyond a double: out of range, not infinity.
    EXPECT_FALSE(decimal_number(std::string(400, '9')).has_value());
}

// Parses `args` with one option --n checked by `add`; the error message, or
// "" when accepted.
template <typename T, typename Add>
std::string parse(T& target, Add add, std::vector<std::string> args) {
    CLI::App app;
    add(app.add_option("--n,-n", target, "n"));
    args.insert(args.begin(), "tlsheap");
    std::vector<const char*> argv;
    for (const std::string& a : args) {
        argv.push_back(a.c_str());
    }
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const UserError& e) {
        EXPECT_EQ(e.exit_code(), kExitBadInput);
        return e.what();
    }
    return "";
}

TEST(WholeNumberOption, NamesTheOptionTheRangeAndTheValue) {
    unsigned n = 0;
    const auto port = [](CLI::Option* o) { whole_number_option(o, 1, 65535); };
    EXPECT_EQ(parse(n, port, {"--n", "65535"}), "");
    EXPECT_EQ(n, 65535u);
    EXPECT_EQ(parse(n, port, {"--n", "70000"}), "--n must be between 1 and 65535, not 70000");
    EXPECT_EQ(parse(n, port, {"-n", "0"}), "--n must be between 1 and 65535, not 0");
    EXPECT_EQ(parse(n, port, {"--n=-1"}), "--n must be between 1 and 65535, not '-1'");
    EXPECT_EQ(parse(n, port, {"--n", ""}), "--n must be between 1 and 65535, not ''");
    const auto bytes = [](CLI::Option* o) { whole_number_option(o, 128, 4096, "bytes"); };
    EXPECT_EQ(parse(n, bytes, {"--n", "4097"}), "--n must be between 128 and 4096 bytes, not 4097");
    std::uint64_t big = 0;
    const auto at_least = [](CLI::Option* o) {
        whole_number_option(o, 1, std::numeric_limits<std::uint64_t>::max());
    };
    EXPECT_EQ(parse(big, at_least, {"--n", "0"}), "--n must be at least 1, not 0");
    EXPECT_EQ(parse(big, at_least, {"--n", "18446744073709551615"}), "");
    EXPECT_EQ(big, 18446744073709551615u);
}

TEST(SecondsOption, FinitePositiveAndBounded) {
    double s = 0;
    EXPECT_EQ(parse(s, step_timeout_option, {"--n", "0.5"}), "");
    EXPECT_EQ(s, 0.5);
    for (const char* bad : {"nan", "inf", "-1", "0", "3600.5", "1e3"}) {
        const std::string quoted = decimal_number(bad) ? bad : "'" + std::string(bad) + "'";
        EXPECT_EQ(parse(s, step_timeout_option, {"--n", bad}),
                  "--n must be between 0.001 and 3600 seconds, not " + quoted);
    }
}

TEST(JobsOption, ZeroIsNotAllCores) {
    unsigned j = 0;
    EXPECT_EQ(parse(j, jobs_option, {"-n", "0"}), "--n must be between 1 and 1024, not 0");
}

} // namespace
} // namespace tlsheap::cli
