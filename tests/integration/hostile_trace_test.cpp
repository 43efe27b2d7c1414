// Traces handed over by someone else (CI artifacts, attachments, baselines):
// every command that reads one answers a damaged or hostile trace with one
// error line naming the record and its byte offset (exit 2), says so when a
// trace is truncated, writes valid JSON whatever bytes a trace holds, never
// overwrites its input, and reads a trace from a pipe.
#include "process/child_process.h"
#include "tlsheap_harness.h"
#include "trace_builder.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSample = std::string(TLSHEAP_SOURCE_DIR) + "/traces/tls12-psk-aes128-ccm.trace";

std::vector<unsigned char> read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

fs::path write_trace(const fs::path& dir, const std::string& name,
                     const std::vector<unsigned char>& bytes) {
    const fs::path p = dir / name;
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
    return p;
}

// One handshake step in `state`, an allocation and its free.
std::vector<unsigned char>
step_trace(std::uint64_t state, const std::vector<std::pair<std::string, std::string>>& meta = {}) {
    TraceBuilder b;
    for (const auto& [k, v] : meta) {
        b.meta(k, v);
    }
    b.phase(trace::Phase::Handshake);
    auto bytes = b.unfinished();
    trace::RecordEncoder().varint(state).emit(trace::Tag::StepBegin, bytes);
    TraceBuilder rest;
    rest.alloc(100, 0x1000);
    rest.free(0x1000);
    const auto events = rest.unfinished();
    bytes.insert(bytes.end(), events.begin() + trace::kHeaderSize, events.end());
    trace::encode_end(bytes, 2);
    return bytes;
}

class HostileTrace : public ::testing::Test {
  protected:
    void SetUp() override { dir_ = scratch_dir("hostile-trace"); }
    fs::path dir_;
};

TEST_F(HostileTrace, HugeStateIdIsAnErrorNamingTheRecordInEveryCommand) {
    for (const std::uint64_t state : {std::uint64_t{0xffffffff}, std::uint64_t{10'000'000}}) {
        const fs::path p = write_trace(dir_, "state.trace", step_trace(state));
        for (const char* command : {"replay", "minpool", "compare", "advise"}) {
            expect_one_line_error(run_tlsheap({command, p.string()}),
                                  "corrupt at byte 15: StepBegin record: state id " +
                                      std::to_string(state));
        }
    }
}

TEST_F(HostileTrace, NonNumericPoolBaseNamesTheKey) {
    const fs::path p = write_trace(
        dir_, "pool-base.trace",
        step_trace(3, {{"allocator", "mbedtls_memory_buffer_alloc"}, {"pool.base", "abc"}}));
    for (const char* command : {"replay", "minpool", "compare"}) {
        expect_one_line_error(run_tlsheap({command, p.string()}),
                              "Meta record: pool.base is 'abc', not a number");
    }
}

TEST_F(HostileTrace, DataAfterTheEndRecordIsAnError) {
    auto bytes = read_bytes(kSample);
    const std::size_t end = bytes.size();
    bytes.push_back(0);
    const fs::path p = write_trace(dir_, "trailing.trace", bytes);
    expect_one_line_error(run_tlsheap({"replay", p.string()}),
                          "corrupt at byte " + std::to_string(end) + ": data after the End record");
}

TEST_F(HostileTrace, EveryCommandSaysATraceIsTruncated) {
    // A recording of concurrent connections (capacity needs one), cut
    // during its last connection's teardown.
    auto bytes =
        read_bytes(std::string(TLSHEAP_SOURCE_DIR) + "/traces/tls13-ecdsa-p256-2-staggered.trace");
    bytes.resize(bytes.size() - 1000);
    const fs::path p = write_trace(dir_, "truncated.trace", bytes);
    for (const char* command : {"replay", "minpool", "compare", "capacity"}) {
        std::vector<std::string> args = {command, p.string()};
        if (std::string(command) == "capacity") {
            args.insert(args.end(), {"--heap", "100000"});
        }
        const RunResult r = run_tlsheap(args);
        EXPECT_NE(r.out.find("  warning: " + p.string() + " is truncated at byte "),
                  std::string::npos)
            << command << ": " << r.out << r.err;
    }
}

TEST_F(HostileTrace, DocumentsOfATruncatedTraceSayItWhereverTheyAreRead) {
    // A profile document carries run.trace_complete; diff, gate and export
    // read documents, not traces, and must not pass a cut-off recording off
    // as a whole one.
    auto bytes = read_bytes(kSample);
    const fs::path whole = dir_ / "whole.json";
    const fs::path cut = dir_ / "cut.json";
    ASSERT_EQ(run_tlsheap({"replay", kSample, "--json", whole.string()}).status, 0);
    bytes.resize(bytes.size() - 200);
    const fs::path trace = write_trace(dir_, "cut.trace", bytes);
    ASSERT_EQ(run_tlsheap({"replay", trace.string(), "--json", cut.string()}).status, 0);
    const std::string warning = "tlsheap: warning: " + cut.string() + ": ";
    const std::string says = ": profiled from a truncated trace, its figures stop where the "
                             "recording stopped";
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"diff", whole.string(), cut.string()},
          {"export", cut.string(), "--format", "bmf", "--output", (dir_ / "bmf.json").string()},
          {"gate", "--baseline", whole.string(), "--current", cut.string()}}) {
        const RunResult r = run_tlsheap(args);
        EXPECT_NE(r.status, 2) << args[0] << ": " << r.err;
        const auto at = r.err.find(warning);
        ASSERT_NE(at, std::string::npos) << args[0] << ": " << r.err;
        EXPECT_NE(r.err.find(says, at), std::string::npos) << args[0] << ": " << r.err;
        EXPECT_EQ(r.err.find("whole.json: "), std::string::npos) << args[0] << ": " << r.err;
    }
}

TEST_F(HostileTrace, MinpoolOfATraceWithoutEventsIsAnError) {
    TraceBuilder b;
    b.meta("scenario.name", "empty");
    const fs::path p = write_trace(dir_, "empty.trace", b.finish());
    expect_one_line_error(run_tlsheap({"minpool", p.string()}), "has no allocation events");
}

TEST_F(HostileTrace, LabelsThatAreNotUtf8StillGiveValidJson) {
    const fs::path p = write_trace(
        dir_, "latin1.trace",
        step_trace(3, {{"config.label", "caf\xe9 config"}, {"scenario.name", "bad\xc3"}}));
    const fs::path json = dir_ / "out.json";
    const RunResult r = run_tlsheap({"replay", p.string(), "--json", json.string()});
    EXPECT_EQ(r.status, 0) << r.err;
    const std::string text = read_json(json).dump();
    EXPECT_NE(text.find("caf\xef\xbf\xbd config"), std::string::npos); // U+FFFD for the byte
    const fs::path exported = dir_ / "export.json";
    const RunResult e = run_tlsheap({"trace", "export", p.string(), "--json", exported.string()});
    EXPECT_EQ(e.status, 0) << e.err;
    EXPECT_NO_THROW(read_json(exported));

    // A state and a function named in Latin-1: the viewers' formats, whose
    // strings are UTF-8 (protobuf logs an error for any other), get U+FFFD.
    TraceBuilder b;
    b.state_name(3, "SERVER_H\xc9LLO")
        .frame(0x30, {"caf\xe9_alloc"})
        .stack(1, 0x30)
        .phase(trace::Phase::Handshake)
        .step(3);
    b.alloc(100, 0x1000, 1);
    b.free(0x1000);
    const fs::path named = write_trace(dir_, "latin1-names.trace", b.finish());
    const fs::path chrome = dir_ / "chrome.json";
    const RunResult c = run_tlsheap({"trace", "export", named.string(), "--format", "chrome-trace",
                                     "--output", chrome.string()});
    EXPECT_EQ(c.status, 0) << c.err;
    EXPECT_NE(read_json(chrome).dump().find("SERVER_H\xef\xbf\xbdLLO"), std::string::npos);
    const RunResult pprof = run_tlsheap({"trace", "export", named.string(), "--format", "pprof",
                                         "--output", (dir_ / "p.pb.gz").string()});
    EXPECT_EQ(pprof.status, 0) << pprof.err;
    EXPECT_EQ(pprof.err, "");
}

TEST_F(HostileTrace, OutputThatIsTheInputIsRefused) {
    const fs::path p = dir_ / "t.trace";
    fs::copy_file(kSample, p);
    const auto before = read_bytes(p);
    const fs::path link = dir_ / "other-name.trace";
    fs::create_symlink(p, link);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"replay", p.string(), "--json", p.string()},
          {"replay", p.string(), "--json", link.string()},
          {"minpool", p.string(), "--json", p.string()},
          {"compare", p.string(), "--json", p.string()},
          {"advise", p.string(), "--json", p.string()},
          {"capacity", p.string(), "--heap", "100000", "--json", p.string()},
          {"trace", "export", p.string(), "--json", p.string()},
          {"trace", "export", p.string(), "--format", "folded", "--output", p.string()},
          {"trace", "export", p.string(), "--format", "massif", "--output", p.string()},
          {"trace", "export", p.string(), "--format", "chrome-trace", "--output", p.string()},
          {"trace", "export", p.string(), "--format", "pprof", "--output", p.string()}}) {
        expect_one_line_error(run_tlsheap(args), "refusing to overwrite it");
    }
    EXPECT_EQ(read_bytes(p), before);
}

// A heap too small for the recording: the models' table says so instead of
// figures of a run that failed (a negative fragmentation, a steady state
// above the footprint).
TEST_F(HostileTrace, HeapTooSmallSaysTheRecordingDoesNotFit) {
    const RunResult r = run_tlsheap({"replay", kSample, "--pool", "1000"});
    EXPECT_EQ(r.status, 1) << r.err;
    const std::string table = r.out.substr(r.out.find("Replayed through allocator models"));
    EXPECT_NE(table.find("ideal            does not fit: the recording needs more than the "
                         "1,000-byte heap"),
              std::string::npos)
        << table;
    EXPECT_EQ(table.find("-97."), std::string::npos) << table;
}

// `tlsheap replay <(cat t.trace)`: the shell hands over /dev/fd/N, a pipe.
TEST_F(HostileTrace, ReadsATraceFromAPipe) {
    const RunResult file = run_tlsheap({"replay", kSample});
    ASSERT_EQ(file.status, 0) << file.err;
    const auto piped = process::run_command(
        {"bash", "-c", "exec \"$0\" replay <(cat \"$1\")", TLSHEAP_BINARY, kSample},
        std::chrono::seconds(600), {}, {{"TLSHEAP_CACHE_DIR", test_cache().string()}});
    EXPECT_EQ(piped.status, 0) << piped.err;
    // The same report but for the trace's name and size.
    const auto figures = [](const std::string& out) { return out.substr(out.find("live peak")); };
    ASSERT_NE(file.out.find("live peak"), std::string::npos) << file.out;
    ASSERT_NE(piped.out.find("live peak"), std::string::npos) << piped.out;
    EXPECT_EQ(figures(piped.out), figures(file.out));
}

TEST_F(HostileTrace, ReadsATraceFromStandardInputNamedDash) {
    // `-` is standard input, piped or redirected from a file; commands that
    // read the trace more than once (compare, advise) see it whole each time.
    const auto on_stdin = [](const std::string& how, const std::string& command) {
        return process::run_command(
            {"bash", "-c", how == "pipe" ? "cat \"$1\" | \"$0\" $2 -" : "\"$0\" $2 - < \"$1\"",
             TLSHEAP_BINARY, kSample, command},
            std::chrono::seconds(600), {}, {{"TLSHEAP_CACHE_DIR", test_cache().string()}});
    };
    const auto figures = [](const std::string& out) {
        return out.find("live peak") == std::string::npos ? "(no live peak) " + out
                                                          : out.substr(out.find("live peak"));
    };
    const RunResult file = run_tlsheap({"replay", kSample});
    ASSERT_EQ(file.status, 0) << file.err;
    for (const std::string how : {"pipe", "redirect"}) {
        const auto replayed = on_stdin(how, "replay");
        EXPECT_EQ(replayed.status, 0) << how << ": " << replayed.err;
        EXPECT_EQ(figures(replayed.out), figures(file.out)) << how;
    }
    // chrome-trace replays the models, then reads the trace again.
    for (const std::string command : {"trace show", "minpool", "compare", "advise",
                                      "trace export --format chrome-trace --output -",
                                      "trace export --format pprof --output -"}) {
        const auto r = on_stdin("pipe", command);
        EXPECT_EQ(r.status, 0) << command << ": " << r.err;
        EXPECT_FALSE(r.out.empty()) << command;
    }
    const auto empty =
        process::run_command({TLSHEAP_BINARY, "replay", "-"}, std::chrono::seconds(60), {}, {});
    EXPECT_EQ(empty.status, 2) << empty.err; // the harness gives the child no input
    EXPECT_NE(empty.err.find("standard input is not a tlsheap trace"), std::string::npos)
        << empty.err;
    // A trace is binary: it is never written to standard output.
    const RunResult to_stdout = run_tlsheap({"profile", "--trace", "-"});
    EXPECT_EQ(to_stdout.status, 2);
    EXPECT_NE(to_stdout.err.find("a trace goes to a file, not to standard output"),
              std::string::npos)
        << to_stdout.err;
}

} // namespace
} // namespace tlsheap::testing
