// One stdout discipline: with `--json -` every command writes the JSON
// document alone to stdout (a script parses it whole) and its report to
// stderr; a write error on stdout is an error (exit 2), never a success
// with half a report; --format without a document to convert is refused.
#include "tlsheap_harness.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <sys/wait.h>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;

const std::string kTrace = std::string(TLSHEAP_SOURCE_DIR) + "/traces/tls12-psk-aes128-ccm.trace";
const std::string kTwoConnections =
    std::string(TLSHEAP_SOURCE_DIR) + "/traces/tls13-ecdsa-p256-2-staggered.trace";

class JsonStdout : public ::testing::Test {
  protected:
    void SetUp() override { dir_ = scratch_dir("json-stdout"); }
    fs::path dir_;
};

// The whole of stdout is one JSON document of `kind` (exports have none).
void expect_only_json(const RunResult& r, const std::string& kind, const std::string& what) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(r.out);
    } catch (const nlohmann::json::exception& e) {
        ADD_FAILURE() << what << ": stdout is not one JSON document (" << e.what() << "):\n"
                      << r.out.substr(0, 400);
        return;
    }
    if (!kind.empty()) {
        EXPECT_EQ(doc.value("kind", ""), kind) << what;
    }
}

TEST_F(JsonStdout, EveryCommandWritesTheDocumentAloneAndItsReportToStderr) {
    const std::string profile = (dir_ / "profile.json").string();
    ASSERT_EQ(run_tlsheap({"replay", kTrace, "--json", profile}).status, 0);
    struct Case {
        std::vector<std::string> args;
        std::string kind;
        std::string report; // a line of the human report, now on stderr
    };
    const std::vector<Case> cases = {
        {{"replay", kTrace, "--json", "-"}, "tlsheap.profile", "Live peak"},
        {{"minpool", kTrace, "--json", "-"}, "tlsheap.minpool", "min pool"},
        {{"compare", kTrace, "--json", "-"}, "tlsheap.compare", "esp-dynamic"},
        {{"capacity", kTwoConnections, "--heap", "100000", "--json", "-"},
         "tlsheap.capacity",
         "connections"},
        {{"diff", profile, profile, "--json", "-"}, "tlsheap.diff", ""},
        {{"gate", "--baseline", profile, "--current", profile, "--json", "-"},
         "tlsheap.gate",
         "PASS"},
        {{"advise", kTrace, "--json", "-"}, "tlsheap.advise", ""},
        {{"export", profile, "--format", "bmf", "--json", "-"}, "", ""},
        {{"profile", "--scenario", "tls12-psk-aes128-ccm", "--json", "-"},
         "tlsheap.profile",
         "Live peak"},
    };
    for (const Case& c : cases) {
        const RunResult r = run_tlsheap(c.args);
        ASSERT_EQ(r.status, 0) << c.args[0] << ": " << r.err;
        expect_only_json(r, c.kind, c.args[0]);
        if (!c.report.empty()) {
            EXPECT_NE(r.err.find(c.report), std::string::npos) << c.args[0] << ": " << r.err;
        }
    }
}

// `tlsheap ARGS > /dev/full`: the exit status and stderr.
RunResult run_into_full_disk(const std::vector<std::string>& args, const fs::path& dir) {
    std::string command =
        std::string("TLSHEAP_CACHE_DIR='") + test_cache().string() + "' '" + TLSHEAP_BINARY + "'";
    for (const std::string& a : args) {
        command += " '" + a + "'";
    }
    const fs::path err = dir / "stderr.txt";
    command += " >/dev/full 2>'" + err.string() + "'";
    const int status = std::system(command.c_str());
    RunResult r;
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(err);
    r.err.assign(std::istreambuf_iterator<char>(in), {});
    return r;
}

TEST_F(JsonStdout, AWriteErrorOnStdoutIsAnError) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"trace", "show", "--events", kTrace},
          {"replay", kTrace},
          {"replay", kTrace, "--json", "-"},
          {"export", (fs::path(TLSHEAP_SOURCE_DIR) / "tests/src/documents/profile_a.json").string(),
           "--format", "bmf"},
          {"trace", "export", kTrace, "--format", "massif", "--output", "-"},
          {"trace", "export", kTrace, "--format", "chrome-trace", "--output", "-"},
          {"trace", "export", kTrace, "--format", "pprof", "--output", "-"}}) {
        const RunResult r = run_into_full_disk(args, dir_);
        EXPECT_EQ(r.status, 2) << args[0] << " " << args[1] << ": " << r.err;
        EXPECT_NE(r.err.find("tlsheap: error: cannot write"), std::string::npos)
            << args[0] << " " << args[1] << ": " << r.err;
        EXPECT_NE(r.err.find("standard output"), std::string::npos) << r.err;
    }
}

// Folded stacks for flame graph viewers: lines "frame;...;frame BYTES" on
// stdout that add up to the live peak and to the bytes allocated of the same
// trace's profile; an unknown format is one line naming the three.
TEST_F(JsonStdout, FoldedStacksAddUpToTheProfilesFigures) {
    const RunResult profile = run_tlsheap({"replay", kTwoConnections, "--json", "-"});
    ASSERT_EQ(profile.status, 0) << profile.err;
    const nlohmann::json doc = nlohmann::json::parse(profile.out);
    for (const auto& [format, expected] :
         {std::pair<std::string, std::uint64_t>{"folded", doc.at("live_peak").at("bytes")},
          {"folded-allocated", doc.at("summary").at("bytes_allocated")}}) {
        const RunResult r =
            run_tlsheap({"trace", "export", kTwoConnections, "--format", format, "--output", "-"});
        ASSERT_EQ(r.status, 0) << format << ": " << r.err;
        std::istringstream lines(r.out);
        std::uint64_t sum = 0;
        std::size_t count = 0;
        for (std::string line; std::getline(lines, line); ++count) {
            const auto space = line.rfind(' ');
            ASSERT_NE(space, std::string::npos) << line;
            ASSERT_NE(line.find(";main;"), std::string::npos) << line; // whole stacks
            sum += std::stoull(line.substr(space + 1));
        }
        EXPECT_GT(count, 10u) << format;
        EXPECT_EQ(sum, expected) << format;
    }
    const RunResult r =
        run_tlsheap({"trace", "export", kTrace, "--format", "svg", "--output", "-"});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err, "tlsheap: error: trace export writes json, folded, folded-allocated, massif, "
                     "chrome-trace or pprof, not 'svg'\n");
    EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(JsonStdout, AFormatWithNothingToConvertIsRefused) {
    for (const char* command : {"profile", "sweep"}) {
        const RunResult r = run_tlsheap({command, "--format", "bmf"});
        EXPECT_EQ(r.status, 2) << command << ": " << r.err;
        EXPECT_NE(r.err.find("tlsheap: error: --format bmf converts the JSON document: give "
                             "--json FILE (or --json - for stdout)"),
                  std::string::npos)
            << command << ": " << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
    const RunResult r = run_tlsheap({"export", kTrace, "--format", "foo"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("export writes a dashboard format (benchmark-action, bmf) of a document "
                         "or a viewer's format (folded, folded-allocated, massif, chrome-trace, "
                         "pprof) of a trace, not 'foo'"),
              std::string::npos)
        << r.err;
}

} // namespace
} // namespace tlsheap::testing
