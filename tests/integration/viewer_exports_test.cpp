// Exports for the viewers people already use: ms_print (Debian's valgrind)
// reads the massif export; the Trace Event export for Perfetto agrees with
// the profile of the same trace.
#include "process/child_process.h"
#include "tlsheap_harness.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <map>
#include <profile.pb.h>
#include <regex>
#include <set>
#include <sstream>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;

const std::string kTrace = std::string(TLSHEAP_SOURCE_DIR) + "/traces/tls12-ecdhe-ecdsa-p256.trace";
const std::string kTwoConnections =
    std::string(TLSHEAP_SOURCE_DIR) + "/traces/tls13-ecdsa-p256-2-staggered.trace";

// 44267 -> "44,267", as ms_print prints bytes.
std::string commified(std::uint64_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            out += ',';
        }
        out += digits[i];
    }
    return out;
}

struct MassifSnapshot {
    std::uint64_t time = 0;
    std::uint64_t heap = 0;
    std::uint64_t extra = 0;
    std::string tree; // "empty", "peak", "detailed"
};

struct MassifFile {
    std::vector<MassifSnapshot> snapshots;
    // The peak tree's call sites (the root's children), label without the
    // frame address -> bytes.
    std::map<std::string, std::uint64_t> call_sites;
};

MassifFile read_massif(const fs::path& path) {
    std::ifstream in(path);
    MassifFile file;
    const std::regex field("^(time|mem_heap_B|mem_heap_extra_B|heap_tree)=(.*)$");
    const std::regex site("^ n[0-9]+: ([0-9]+) 0x[0-9A-F]+: (.*)$");
    std::smatch m;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("snapshot=", 0) == 0) {
            file.snapshots.emplace_back();
        } else if (std::regex_match(line, m, field) && !file.snapshots.empty()) {
            MassifSnapshot& s = file.snapshots.back();
            if (m[1] == "heap_tree") {
                s.tree = m[2];
            } else {
                const std::uint64_t value = std::stoull(m[2]);
                (m[1] == "time" ? s.time : m[1] == "mem_heap_B" ? s.heap : s.extra) = value;
            }
        } else if (std::regex_match(line, m, site)) {
            file.call_sites[m[2]] += std::stoull(m[1]);
        }
    }
    return file;
}

std::string ms_print(const fs::path& massif) {
    const auto r = process::run_command({MS_PRINT, massif.string()}, std::chrono::seconds(60));
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
}

class MassifExport : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = scratch_dir("massif-export");
        const RunResult r = run_tlsheap(
            {"replay", kTrace, "--model", "mbedtls-pool", "--top", "1000", "--json", "-"});
        ASSERT_EQ(r.status, 0) << r.err;
        profile_ = nlohmann::json::parse(r.out);
    }
    fs::path exported(const std::vector<std::string>& options) {
        const fs::path out = dir_ / "massif.out";
        std::vector<std::string> args = {"trace",  "export",   kTrace,      "--format",
                                         "massif", "--output", out.string()};
        args.insert(args.end(), options.begin(), options.end());
        const RunResult r = run_tlsheap(args);
        EXPECT_EQ(r.status, 0) << r.err;
        return out;
    }
    fs::path dir_;
    nlohmann::json profile_;
};

// ms_print's peak is replay's live peak, at the same event; its tree's call
// sites carry the bytes of replay's alive-at-peak table.
TEST_F(MassifExport, MsPrintShowsTheLivePeakAndItsCallSites) {
    const std::uint64_t peak = profile_.at("live_peak").at("bytes");
    const std::uint64_t peak_seq = profile_.at("live_peak").at("at").at("seq");
    const fs::path out = exported({});
    const MassifFile file = read_massif(out);
    ASSERT_GT(file.snapshots.size(), 50u);
    std::size_t peaks = 0;
    std::uint64_t previous_time = 0;
    for (const MassifSnapshot& s : file.snapshots) {
        EXPECT_GE(s.time, previous_time);
        previous_time = s.time;
        EXPECT_LE(s.heap, peak);
        EXPECT_EQ(s.extra, 0u);
        if (s.tree == "peak") {
            ++peaks;
            EXPECT_EQ(s.heap, peak);
            EXPECT_EQ(s.time, peak_seq);
        } else {
            EXPECT_EQ(s.tree, "empty");
        }
    }
    EXPECT_EQ(peaks, 1u);
    EXPECT_EQ(file.snapshots.back().time, profile_.at("summary").at("events").get<std::uint64_t>());

    std::map<std::string, std::uint64_t> sites;
    for (const auto& entry : profile_.at("alive_at_peak")) {
        sites[entry.at("call_site")] += entry.at("bytes").get<std::uint64_t>();
    }
    EXPECT_EQ(file.call_sites, sites);

    const std::string printed = ms_print(out);
    const std::smatch peak_line = [&] {
        std::smatch m;
        std::regex_search(printed, m, std::regex("Detailed snapshots: \\[([0-9]+) \\(peak\\)\\]"));
        return m;
    }();
    ASSERT_FALSE(peak_line.empty()) << printed.substr(0, 2000);
    // The peak snapshot's row: n, time, total, useful-heap, extra-heap, stacks.
    const std::regex row("\\n +" + peak_line[1].str() + " +" + commified(peak_seq) + " +" +
                         commified(peak) + " +" + commified(peak) + " +0 +0\\n");
    EXPECT_TRUE(std::regex_search(printed, row)) << printed.substr(0, 4000);
    EXPECT_NE(printed.find("100.00% (" + commified(peak) +
                           "B) (heap allocation functions) mbedtls_calloc"),
              std::string::npos);
}

// With --model, mem_heap_extra_B is the model's footprint beyond the live
// bytes: at the peak, what replay reports as the footprint at the live peak.
TEST_F(MassifExport, ModelOverheadIsTheExtraHeap) {
    const std::uint64_t peak = profile_.at("live_peak").at("bytes");
    const nlohmann::json& pool = profile_.at("models").at(0);
    ASSERT_EQ(pool.at("name"), "mbedtls-pool");
    const double fragmentation = pool.at("fragmentation_at_live_peak");
    const auto footprint_at_peak =
        static_cast<std::uint64_t>(std::llround(static_cast<double>(peak) * (1 + fragmentation)));
    ASSERT_GT(footprint_at_peak, peak);
    const std::uint64_t footprint = pool.at("footprint");

    const fs::path out = exported({"--model", "mbedtls-pool"});
    const MassifFile file = read_massif(out);
    bool seen_peak = false;
    for (const MassifSnapshot& s : file.snapshots) {
        EXPECT_LE(s.heap + s.extra, footprint);
        if (s.tree == "peak") {
            seen_peak = true;
            EXPECT_EQ(s.heap, peak);
            EXPECT_EQ(s.heap + s.extra, footprint_at_peak);
        }
    }
    EXPECT_TRUE(seen_peak);
    EXPECT_EQ(file.snapshots.back().heap + file.snapshots.back().extra, footprint);
    const std::string printed = ms_print(out);
    EXPECT_NE(printed.find("Command:            " + kTrace + " (scenario tls12-ecdhe-ecdsa-p256)"),
              std::string::npos)
        << printed.substr(0, 600);
    EXPECT_NE(printed.find(commified(footprint_at_peak - peak)), std::string::npos);
}

TEST_F(MassifExport, ModelWithAnotherFormatIsRefused) {
    const RunResult r = run_tlsheap({"trace", "export", kTrace, "--format", "folded", "--model",
                                     "mbedtls-pool", "--output", (dir_ / "x").string()});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err,
              "tlsheap: error: --model is for --format massif or chrome-trace, not folded\n");
    EXPECT_FALSE(fs::exists(dir_ / "x"));
    const RunResult unknown = run_tlsheap({"trace", "export", kTrace, "--format", "massif",
                                           "--model", "no-such-heap", "--output", "-"});
    EXPECT_EQ(unknown.status, 2) << unknown.err;
    EXPECT_EQ(unknown.error_lines().size(), 1u) << unknown.err;
    EXPECT_TRUE(unknown.out.empty());
}

nlohmann::json profile_of(const std::string& trace) {
    const RunResult r =
        run_tlsheap({"replay", trace, "--model", "mbedtls-pool", "--top", "1000", "--json", "-"});
    EXPECT_EQ(r.status, 0) << r.err;
    return nlohmann::json::parse(r.out);
}

nlohmann::json chrome_trace_of(const std::string& trace) {
    const RunResult r = run_tlsheap({"trace", "export", trace, "--format", "chrome-trace",
                                     "--model", "mbedtls-pool", "--output", "-"});
    EXPECT_EQ(r.status, 0) << r.err;
    return nlohmann::json::parse(r.out);
}

// The counters' highest values are the live peak and the model's footprint;
// a live-bytes counter per event; the slices on each track follow one
// another and carry every allocation; a state the profile lists is a slice;
// every TLS record is an instant.
TEST(ChromeTraceExport, CountersSlicesAndRecordsAgreeWithTheProfile) {
    for (const std::string& trace : {kTrace, kTwoConnections}) {
        const nlohmann::json profile = profile_of(trace);
        const nlohmann::json doc = chrome_trace_of(trace);
        std::uint64_t live_max = 0, live_counters = 0, footprint_max = 0, allocations = 0;
        std::size_t records = 0;
        std::map<unsigned, std::vector<std::pair<double, double>>> slices; // tid -> (ts, dur)
        std::set<std::string> states;
        for (const nlohmann::json& e : doc.at("traceEvents")) {
            ASSERT_EQ(e.at("pid"), 1);
            const std::string ph = e.at("ph");
            if (ph == "C" && e.at("name") == "heap") {
                ++live_counters;
                live_max = std::max<std::uint64_t>(live_max, e.at("args").at("live bytes"));
            } else if (ph == "C") {
                ASSERT_EQ(e.at("name"), "footprint mbedtls-pool");
                footprint_max = std::max<std::uint64_t>(footprint_max, e.at("args").at("bytes"));
            } else if (ph == "X") {
                ASSERT_GE(e.at("dur").get<double>(), 0.0);
                slices[e.at("tid")].emplace_back(e.at("ts"), e.at("dur"));
                allocations += e.at("args").at("allocations").get<std::uint64_t>();
                states.insert(e.at("name").get<std::string>());
            } else if (ph == "i" &&
                       e.at("name").get<std::string>().find(" B") != std::string::npos) {
                ++records;
            }
        }
        EXPECT_EQ(live_max, profile.at("live_peak").at("bytes")) << trace;
        EXPECT_EQ(live_counters, profile.at("summary").at("events")) << trace;
        EXPECT_EQ(footprint_max, profile.at("models").at(0).at("footprint")) << trace;
        EXPECT_EQ(allocations, profile.at("summary").at("allocations")) << trace;
        const nlohmann::json& tls = profile.at("tls_records");
        EXPECT_EQ(records, tls.at("sent").at("count").get<std::size_t>() +
                               tls.at("received").at("count").get<std::size_t>())
            << trace;
        for (const nlohmann::json& state : profile.at("states")) {
            EXPECT_TRUE(states.count(state.at("state").get<std::string>())) << state;
        }
        for (auto& [tid, track] : slices) {
            std::sort(track.begin(), track.end());
            for (std::size_t i = 1; i < track.size(); ++i) {
                EXPECT_GE(track[i].first, track[i - 1].first + track[i - 1].second - 1e-6)
                    << trace << " track " << tid;
            }
        }
        // One track for what the connections share, one per connection.
        EXPECT_EQ(slices.size(), trace == kTwoConnections ? 3u : 2u) << trace;
    }
}

// The pprof export, gunzipped and decoded by protoc against pprof's own
// profile.proto: inuse_space adds up to the live peak and alloc_space to the
// bytes allocated; by call site (each sample's first location), inuse_space
// is replay's alive-at-peak table; every sample has its phase, and those of
// the handshake a state replay lists.
TEST(PprofExport, ProtocDecodesTheProfilesFiguresByCallSite) {
    const fs::path dir = scratch_dir("pprof-export");
    const nlohmann::json profile = profile_of(kTrace);
    const fs::path out = dir / "profile.pb.gz";
    const RunResult r =
        run_tlsheap({"trace", "export", kTrace, "--format", "pprof", "--output", out.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const fs::path proto(PPROF_PROTO);
    const auto decoded = process::run_command(
        {"bash", "-c",
         "gzip -dc \"$0\" | \"$1\" --decode=perftools.profiles.Profile "
         "--proto_path \"$2\" \"$3\"",
         out.string(), PROTOC, proto.parent_path().string(), proto.filename().string()},
        std::chrono::seconds(60));
    ASSERT_EQ(decoded.status, 0) << decoded.err;
    perftools::profiles::Profile p;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(decoded.out, &p));
    const auto text = [&](std::int64_t index) { return p.string_table(static_cast<int>(index)); };
    std::vector<std::string> types;
    for (const auto& t : p.sample_type()) {
        types.push_back(text(t.type()) + "/" + text(t.unit()));
    }
    ASSERT_EQ(types, (std::vector<std::string>{"alloc_objects/count", "alloc_space/bytes",
                                               "inuse_objects/count", "inuse_space/bytes"}));
    EXPECT_EQ(text(p.default_sample_type()), "inuse_space");
    std::map<std::uint64_t, std::string> call_site; // location id -> "function (file:line)"
    std::map<std::uint64_t, std::string> function_name, function_file;
    for (const auto& f : p.function()) {
        function_name[f.id()] = text(f.name());
        function_file[f.id()] = text(f.filename());
    }
    for (const auto& l : p.location()) {
        ASSERT_GT(l.line_size(), 0);
        const auto& line = l.line(0);
        call_site[l.id()] = function_name[line.function_id()] + " (" +
                            function_file[line.function_id()] + ":" + std::to_string(line.line()) +
                            ")";
    }
    std::set<std::string> states;
    for (const nlohmann::json& s : profile.at("states")) {
        states.insert(s.at("state").get<std::string>());
    }
    std::int64_t alloc_space = 0, inuse_space = 0;
    std::map<std::string, std::uint64_t> inuse_by_site;
    for (const auto& s : p.sample()) {
        ASSERT_EQ(s.value_size(), 4);
        ASSERT_GT(s.location_id_size(), 0);
        alloc_space += s.value(1);
        inuse_space += s.value(3);
        if (s.value(3) > 0) {
            inuse_by_site[call_site[s.location_id(0)]] += static_cast<std::uint64_t>(s.value(3));
        }
        std::map<std::string, std::string> labels;
        for (const auto& l : s.label()) {
            labels[text(l.key())] = text(l.str());
        }
        ASSERT_TRUE(labels.count("phase"));
        if (labels["phase"] == "HANDSHAKE") {
            EXPECT_TRUE(states.count(labels["state"])) << labels["state"];
        } else {
            EXPECT_FALSE(labels.count("state"));
        }
    }
    EXPECT_EQ(inuse_space, profile.at("live_peak").at("bytes").get<std::int64_t>());
    EXPECT_EQ(alloc_space, profile.at("summary").at("bytes_allocated").get<std::int64_t>());
    std::map<std::string, std::uint64_t> alive;
    for (const nlohmann::json& entry : profile.at("alive_at_peak")) {
        alive[entry.at("call_site")] += entry.at("bytes").get<std::uint64_t>();
    }
    EXPECT_EQ(inuse_by_site, alive);
}

// `export` writes the viewers' formats of a trace as `trace export` does;
// a profile document, which has no stacks over time, is refused in one line.
TEST(ViewerExports, ExportWritesTheSameFilesAsTraceExport) {
    const fs::path dir = scratch_dir("viewer-exports");
    for (const std::string format :
         {"folded", "folded-allocated", "massif", "chrome-trace", "pprof"}) {
        std::vector<std::string> model;
        if (format == "massif" || format == "chrome-trace") {
            model = {"--model", "esp-tlsf"};
        }
        std::vector<std::string> args = {"export", kTrace, "--format", format, "--output", "-"};
        args.insert(args.end(), model.begin(), model.end());
        const RunResult exported = run_tlsheap(args);
        args = {"trace", "export", kTrace, "--format", format, "--output", "-"};
        args.insert(args.end(), model.begin(), model.end());
        const RunResult trace_exported = run_tlsheap(args);
        ASSERT_EQ(exported.status, 0) << format << ": " << exported.err;
        EXPECT_GT(exported.out.size(), 1000u) << format;
        EXPECT_EQ(exported.out, trace_exported.out) << format;
    }
    const fs::path profile = dir / "profile.json";
    ASSERT_EQ(run_tlsheap({"replay", kTrace, "--json", profile.string()}).status, 0);
    const RunResult r = run_tlsheap({"export", profile.string(), "--format", "massif"});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_EQ(r.error_lines().size(), 1u) << r.err;
    EXPECT_NE(r.err.find("profile.json"), std::string::npos) << r.err;
    const RunResult model =
        run_tlsheap({"export", profile.string(), "--format", "bmf", "--model", "esp-tlsf"});
    EXPECT_EQ(model.status, 2) << model.err;
    EXPECT_EQ(model.err,
              "tlsheap: error: --model is for --format massif or chrome-trace, not bmf\n");
}

// A trace cut short: every viewer's file of what it holds, and a warning.
TEST(ViewerExports, ATruncatedTraceIsExportedWithAWarning) {
    const fs::path dir = scratch_dir("viewer-exports-truncated");
    std::ifstream in(kTwoConnections, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes.resize(bytes.size() - 1000);
    const fs::path cut = dir / "cut.trace";
    std::ofstream(cut, std::ios::binary) << bytes;
    for (const std::string format : {"folded", "massif", "chrome-trace", "pprof"}) {
        const fs::path out = dir / ("out." + format);
        const RunResult r = run_tlsheap(
            {"trace", "export", cut.string(), "--format", format, "--output", out.string()});
        EXPECT_EQ(r.status, 0) << format << ": " << r.err;
        EXPECT_NE(r.err.find("tlsheap: warning: " + cut.string() + " is truncated at byte"),
                  std::string::npos)
            << format << ": " << r.err;
        EXPECT_GT(fs::file_size(out), 100u) << format;
    }
}

} // namespace
} // namespace tlsheap::testing
