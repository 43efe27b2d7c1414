// The HTML report, opened in headless Chromium (Debian's chromium) as a user
// opens it from disk: no error on the page or its console, a band per
// handshake state on its connection's row, the live peak marked, the flame
// graph's root equal to the live peak, and a screenshot. The figures it is
// checked against come from `replay --json` of the same trace.
#include "process/child_process.h"
#include "tlsheap_harness.h"
#include "trace_builder.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kTrace = std::string(TLSHEAP_SOURCE_DIR) + "/traces/tls12-ecdhe-ecdsa-p256.trace";
const std::string kTwoConnections =
    std::string(TLSHEAP_SOURCE_DIR) + "/traces/tls13-ecdsa-p256-2-staggered.trace";

struct Page {
    std::string dom; // the document after its script ran
    std::string log; // Chromium's stderr, console messages among it
};

std::vector<std::string> chromium_command(const fs::path& profile) {
    // As root in a container: no sandbox; the closed network makes Chromium's
    // own background requests fail, so they are turned off.
    return {CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--user-data-dir=" + profile.string(),
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--window-size=1280,2000"};
}

Page open_page(const fs::path& page, const fs::path& screenshot = {}) {
    const fs::path profile = page.parent_path() / (page.stem().string() + "-chromium");
    fs::remove_all(profile);
    std::vector<std::string> argv = chromium_command(profile);
    argv.push_back("--dump-dom");
    argv.push_back("file://" + fs::absolute(page).string());
    const auto r = process::run_command(argv, std::chrono::seconds(120));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_FALSE(r.timed_out);
    if (!screenshot.empty()) {
        fs::remove_all(profile);
        std::vector<std::string> shot = chromium_command(profile);
        shot.push_back("--screenshot=" + fs::absolute(screenshot).string());
        shot.push_back("file://" + fs::absolute(page).string());
        const auto s = process::run_command(shot, std::chrono::seconds(120));
        EXPECT_EQ(s.status, 0) << s.err;
    }
    fs::remove_all(profile);
    return {r.out, r.err};
}

// The page rendered, without an error on it or on its console.
void expect_clean(const Page& page) {
    EXPECT_NE(page.dom.find("data-rendered=\"true\""), std::string::npos)
        << page.dom.substr(0, 2000);
    EXPECT_NE(page.dom.find("data-errors=\"0\""), std::string::npos) << page.dom.substr(0, 2000);
    EXPECT_EQ(page.dom.find("id=\"page-errors\""), std::string::npos);
    // The report logs nothing: any console line (an error, an uncaught
    // exception, a refused resource) is a fault.
    std::istringstream lines(page.log);
    for (std::string line; std::getline(lines, line);) {
        EXPECT_EQ(line.find(":CONSOLE"), std::string::npos) << line;
    }
}

std::vector<std::smatch> all_matches(const std::string& text, const std::regex& pattern) {
    return {std::sregex_iterator(text.begin(), text.end(), pattern), std::sregex_iterator()};
}

// connection -> state -> bands drawn.
std::map<std::string, std::map<std::string, int>> bands(const std::string& dom) {
    std::map<std::string, std::map<std::string, int>> out;
    const std::regex band("<rect class=\"band\"[^>]*data-state=\"([^\"]*)\" "
                          "data-connection=\"([0-9]+)\"");
    for (const std::smatch& m : all_matches(dom, band)) {
        ++out[m[2]][m[1]];
    }
    return out;
}

// The roots of the flame graphs, in page order: name -> bytes.
std::vector<std::pair<std::string, std::uint64_t>> flame_roots(const std::string& dom) {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    const std::regex root("class=\"flame-root\" data-bytes=\"([0-9]+)\" data-name=\"([^\"]*)\"");
    for (const std::smatch& m : all_matches(dom, root)) {
        out.emplace_back(m[2], std::stoull(m[1]));
    }
    return out;
}

std::vector<std::uint64_t> peak_markers(const std::string& dom) {
    std::vector<std::uint64_t> out;
    for (const std::smatch& m :
         all_matches(dom, std::regex("class=\"peak-marker\" data-bytes=\"([0-9]+)\""))) {
        out.push_back(std::stoull(m[1]));
    }
    return out;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

bool is_png(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    char head[8] = {};
    in.read(head, sizeof head);
    return in.gcount() == 8 && std::string(head + 1, 3) == "PNG";
}

json replayed(const std::string& trace) {
    const RunResult r = run_tlsheap({"replay", trace, "--json", "-"});
    EXPECT_EQ(r.status, 0) << r.err;
    return json::parse(r.out);
}

class HtmlReport : public ::testing::Test {
  protected:
    void SetUp() override { dir_ = scratch_dir("html-report-" + name()); }
    static std::string name() {
        return ::testing::UnitTest::GetInstance()->current_test_info()->name();
    }
    fs::path dir_;
};

// A trace's page: one band per handshake state on the connection's row, the
// TLS records, the peak marked with replay's live peak, and the flame graphs'
// roots: the live peak and every byte allocated.
TEST_F(HtmlReport, TracePageDrawsEveryStateThePeakAndFlameRoots) {
    const json profile = replayed(kTrace);
    const fs::path page = dir_ / "report.html";
    const RunResult r = run_tlsheap({"report", kTrace, "--html", page.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "");
    const Page shown = open_page(page, dir_ / "report.png");
    expect_clean(shown);
    EXPECT_TRUE(is_png(dir_ / "report.png"));

    const auto drawn = bands(shown.dom);
    ASSERT_TRUE(drawn.contains("1")) << "no band on connection 1";
    // The states the profile counts, and the one the handshake ended in.
    std::set<std::string> states = {profile["outcomes"][0]["state"].get<std::string>()};
    for (const json& s : profile["states"]) {
        states.insert(s["state"].get<std::string>());
        // A TLS 1.2 handshake passes each state once: one band each.
        EXPECT_EQ(drawn.at("1").count(s["state"]) ? drawn.at("1").at(s["state"]) : 0, 1)
            << s["state"];
    }
    for (const auto& [state, n] : drawn.at("1")) {
        EXPECT_TRUE(states.contains(state) || state == "SETUP" || state == "APPLICATION" ||
                    state == "CLOSE" || state == "TEARDOWN")
            << state << " is neither a state of the profile nor a phase";
    }

    const std::uint64_t peak = profile["live_peak"]["bytes"];
    EXPECT_EQ(peak_markers(shown.dom), std::vector<std::uint64_t>{peak});
    const auto roots = flame_roots(shown.dom);
    ASSERT_EQ(roots.size(), 2u);
    EXPECT_EQ(roots[0], std::make_pair(std::string("alive at the live peak"), peak));
    EXPECT_EQ(roots[1], std::make_pair(std::string("allocated"),
                                       profile["summary"]["bytes_allocated"].get<std::uint64_t>()));

    EXPECT_EQ(occurrences(shown.dom, "class=\"record record-in\""),
              profile["tls_records"]["received"]["count"].get<std::size_t>());
    EXPECT_EQ(occurrences(shown.dom, "class=\"record record-out\""),
              profile["tls_records"]["sent"]["count"].get<std::size_t>());
    // The tables: a row per model, phase and state.
    EXPECT_EQ(occurrences(shown.dom, "<table class=\"models-table\">"), 1u);
    EXPECT_EQ(occurrences(shown.dom, "<table class=\"states-table\">"), 1u);
    for (const json& m : profile["models"]) {
        EXPECT_NE(shown.dom.find("<td>" + m["name"].get<std::string>() + "</td>"),
                  std::string::npos);
    }
}

// Two connections: a row of bands each, and `replay --html` draws the same
// page as `report`.
TEST_F(HtmlReport, LifecycleTraceHasABandRowPerConnection) {
    const json profile = replayed(kTwoConnections);
    const fs::path page = dir_ / "replay.html";
    const RunResult r = run_tlsheap({"replay", kTwoConnections, "--html", page.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const Page shown = open_page(page);
    expect_clean(shown);
    const auto drawn = bands(shown.dom);
    for (const std::string connection : {"1", "2"}) {
        ASSERT_TRUE(drawn.contains(connection)) << connection;
        for (const std::string state : {"CLIENT_HELLO", "SERVER_HELLO", "SERVER_CERTIFICATE"}) {
            EXPECT_GE(drawn.at(connection).count(state), 1u) << connection << " " << state;
        }
    }
    EXPECT_EQ(peak_markers(shown.dom),
              std::vector<std::uint64_t>{profile["live_peak"]["bytes"].get<std::uint64_t>()});
}

// The page's data block, as the page reads it.
json page_data(const fs::path& page) {
    std::ifstream in(page);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    const std::string open = "id=\"tlsheap-data\">";
    const std::size_t begin = text.find(open);
    const std::size_t end = text.find("</script>", begin);
    EXPECT_NE(begin, std::string::npos);
    return json::parse(text.substr(begin + open.size(), end - begin - open.size()));
}

// On a device heap (--heap): each model's free bytes and largest free block
// over time, drawn; the ideal model's free bytes are the heap less the live
// bytes at every point.
TEST_F(HtmlReport, HeapPageDrawsFreeBytesAndTheLargestBlock) {
    constexpr std::uint64_t kHeap = 60000;
    const fs::path page = dir_ / "heap.html";
    const RunResult r = run_tlsheap({"report", kTrace, "--heap", std::to_string(kHeap), "--model",
                                     "ideal", "--model", "esp-tlsf", "--html", page.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const json timeline = page_data(page)["views"][0]["timeline"];
    EXPECT_EQ(timeline["heap_size"], kHeap);
    ASSERT_GT(timeline["series"].size(), 1000u);
    for (const json& point : timeline["series"]) {
        const std::uint64_t live = point[1];
        EXPECT_EQ(point[4][0], json::array({kHeap - live, kHeap - live})) << point.dump();
        // TLSF's free bytes leave out what its headers take: fewer.
        EXPECT_LT(point[4][1][0].get<std::uint64_t>(), kHeap - live) << point.dump();
    }
    const Page shown = open_page(page);
    expect_clean(shown);
    for (const std::string heap : {"free", "largest"}) {
        for (const std::string model : {"ideal", "esp-tlsf"}) {
            EXPECT_EQ(
                occurrences(shown.dom, "data-heap=\"" + heap + "\" data-model=\"" + model + "\""),
                1u)
                << heap << " " << model;
        }
    }
    EXPECT_EQ(occurrences(shown.dom, "class=\"heap-line\""), 1u);
}

// compare --html: a timeline per scheme on one axis, each with its scheme's
// live peak as compare's JSON gives it.
TEST_F(HtmlReport, ComparePageHasATimelinePerScheme) {
    const fs::path page = dir_ / "compare.html";
    const fs::path table = dir_ / "compare.json";
    const RunResult r =
        run_tlsheap({"compare", kTrace, "--scheme", "recorded", "--scheme", "esp-dynamic",
                     "--scheme", "axtls-growth", "--model", "mbedtls-pool", "--json",
                     table.string(), "--html", page.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const Page shown = open_page(page);
    expect_clean(shown);
    std::vector<std::uint64_t> expected;
    const json compared = read_json(table);
    for (const json& row : compared["rows"]) {
        expected.push_back(row["live_peak"]);
    }
    ASSERT_EQ(expected.size(), 3u);
    EXPECT_EQ(occurrences(shown.dom, "class=\"timeline\""), 3u);
    EXPECT_EQ(peak_markers(shown.dom), expected);
    // The schemes change the peak: the recorded one is the highest.
    EXPECT_GT(expected[0], expected[1]);
}

// A profile document alone: its series, its peak and call sites; the flame
// graph's root is still the live peak.
TEST_F(HtmlReport, ProfileDocumentPageShowsItsPeak) {
    const json profile = replayed(kTrace);
    const fs::path doc = dir_ / "profile.json";
    std::ofstream(doc) << profile.dump();
    const fs::path page = dir_ / "doc.html";
    const RunResult r = run_tlsheap({"report", doc.string(), "--html", page.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const Page shown = open_page(page);
    expect_clean(shown);
    const std::uint64_t peak = profile["live_peak"]["bytes"];
    EXPECT_EQ(peak_markers(shown.dom), std::vector<std::uint64_t>{peak});
    const auto roots = flame_roots(shown.dom);
    ASSERT_EQ(roots.size(), 1u);
    EXPECT_EQ(roots[0].second, peak);
}

// profile --html and sweep --html on the default variant: the page of a
// fresh recording, and the sweep's matrix with a row per cell.
TEST_F(HtmlReport, ProfileAndSweepWriteTheirPages) {
    const fs::path page = dir_ / "profile.html";
    const fs::path doc = dir_ / "profile.json";
    const RunResult p =
        run_tlsheap({"profile", "--json", doc.string(), "--html", page.string(), "-j", "2"});
    ASSERT_EQ(p.status, 0) << p.err;
    const Page shown = open_page(page, dir_ / "profile.png");
    expect_clean(shown);
    const json profile = read_json(doc);
    EXPECT_EQ(peak_markers(shown.dom),
              std::vector<std::uint64_t>{profile["live_peak"]["bytes"].get<std::uint64_t>()});
    const auto roots = flame_roots(shown.dom);
    ASSERT_FALSE(roots.empty());
    EXPECT_EQ(roots[0].second, profile["live_peak"]["bytes"].get<std::uint64_t>());

    const fs::path sweep_page = dir_ / "sweep.html";
    const fs::path sweep = dir_ / "sweep.json";
    const RunResult s = run_tlsheap({"sweep", "--quiet", "--model", "mbedtls-pool", "--json",
                                     sweep.string(), "--html", sweep_page.string()});
    ASSERT_EQ(s.status, 0) << s.err;
    const json cells = read_json(sweep)["cells"];
    ASSERT_EQ(cells.size(), 1u);
    const Page matrix = open_page(sweep_page);
    expect_clean(matrix);
    EXPECT_EQ(occurrences(matrix.dom, "<table class=\"sweep-table\">"), 1u);
    // The cell's live peak, as the matrix writes it next to its bar.
    const std::uint64_t cell_peak = cells[0]["profile"]["live_peak"]["bytes"];
    std::string grouped = std::to_string(cell_peak);
    for (int i = static_cast<int>(grouped.size()) - 3; i > 0; i -= 3) {
        grouped = grouped.substr(0, static_cast<std::size_t>(i)) + "," +
                  grouped.substr(static_cast<std::size_t>(i));
    }
    EXPECT_TRUE(std::regex_search(matrix.dom,
                                  std::regex("<span class=\"bar\"[^>]*></span>" + grouped + "<")))
        << grouped;
    // report draws the same sweep document.
    const fs::path again = dir_ / "sweep-again.html";
    ASSERT_EQ(run_tlsheap({"report", sweep.string(), "--html", again.string()}).status, 0);
    expect_clean(open_page(again));
}

// profile --stack: the states and phases tables get a stack column and the
// page says the RAM budget the JSON gives.
TEST_F(HtmlReport, ProfileWithStackShowsStackNextToHeap) {
    const fs::path page = dir_ / "stack.html";
    const fs::path doc = dir_ / "stack.json";
    const RunResult p = run_tlsheap({"profile", "--stack", "--scenario", "tls12-psk-aes128-ccm",
                                     "--json", doc.string(), "--html", page.string()});
    ASSERT_EQ(p.status, 0) << p.err;
    const Page shown = open_page(page);
    expect_clean(shown);
    const json profile = read_json(doc);
    ASSERT_TRUE(profile.contains("stack"));
    std::string budget =
        std::to_string(profile["stack"]["heap_plus_stack_bytes"].get<std::uint64_t>());
    for (int i = static_cast<int>(budget.size()) - 3; i > 0; i -= 3) {
        budget = budget.substr(0, static_cast<std::size_t>(i)) + "," +
                 budget.substr(static_cast<std::size_t>(i));
    }
    EXPECT_TRUE(std::regex_search(
        shown.dom, std::regex("<p class=\"stack-budget\">[^<]* = " + budget + " bytes\\.</p>")))
        << budget;
    // One stack column in each of the two tables.
    EXPECT_EQ(occurrences(shown.dom, ">stack<"), 2u);
}

// Names in a trace are data, never markup: a state and a function named
// "</script><script>..." stay text, and the page still renders.
TEST_F(HtmlReport, HostileNamesStayText) {
    const std::string hostile = "</script><script>document.title='owned'</script><b>";
    TraceBuilder b;
    b.meta("scenario.name", hostile)
        .state_name(3, hostile)
        .frame(0x30, {hostile})
        .stack(1, 0x30)
        .phase(trace::Phase::Handshake)
        .step(3);
    b.alloc(100, 0x1000, 1);
    b.free(0x1000);
    const fs::path trace = dir_ / "hostile.trace";
    const std::vector<unsigned char> bytes = b.finish();
    std::ofstream(trace, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
    const fs::path page = dir_ / "hostile.html";
    const RunResult r = run_tlsheap({"report", trace.string(), "--html", page.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    std::ifstream in(page);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    // Three scripts of ours, and no fourth.
    EXPECT_EQ(occurrences(text, "<script"), 3u);
    const Page shown = open_page(page);
    expect_clean(shown);
    EXPECT_EQ(shown.dom.find("<title>owned</title>"), std::string::npos);
    EXPECT_NE(shown.dom.find("data-state=\"&lt;/script&gt;"), std::string::npos);
}

// Wrong inputs and outputs: one line, exit 2, no page.
TEST_F(HtmlReport, BadInputIsOneLine) {
    const fs::path page = dir_ / "never.html";
    const fs::path compare = dir_ / "compare.json";
    ASSERT_EQ(run_tlsheap({"compare", kTrace, "--scheme", "recorded", "--model", "ideal", "--json",
                           compare.string()})
                  .status,
              0);
    expect_one_line_error(run_tlsheap({"report", compare.string(), "--html", page.string()}),
                          "tlsheap.compare");
    const fs::path text = dir_ / "notes.txt";
    std::ofstream(text) << "not a trace, not JSON\n";
    expect_one_line_error(run_tlsheap({"report", text.string(), "--html", page.string()}),
                          "notes.txt");
    expect_one_line_error(run_tlsheap({"report", kTrace, "--html", "-"}), "not to stdout");
    expect_one_line_error(
        run_tlsheap({"report", kTrace, "--html", (dir_ / "no-such-dir" / "r.html").string()}),
        "no-such-dir");
    expect_one_line_error(
        run_tlsheap({"report", (dir_ / "missing.trace").string(), "--html", page.string()}),
        "missing.trace");
    expect_one_line_error(
        run_tlsheap({"replay", kTrace, "--json", page.string(), "--html", page.string()}),
        "--html and --json");
    expect_one_line_error(
        run_tlsheap({"report", compare.string(), "--model", "umm", "--html", page.string()}),
        "--model");
    expect_one_line_error(
        run_tlsheap({"report", kTrace, "--model", "no-such-model", "--html", page.string()}),
        "no-such-model");
    EXPECT_FALSE(fs::exists(page));
}

} // namespace
} // namespace tlsheap::testing
