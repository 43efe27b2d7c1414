// Issue 10, connection costs, --app-heap and `tlsheap capacity`, end to end
// on real recordings against the deterministic mbedTLS peer: the capacity
// answer per model is checked by replaying recordings with C and C + 1
// connections on the same heap; the marginal cost of the k-th connection
// against separate recordings with k and k - 1 connections; the
// application's blocks against the same recording without them.
#include "tlsheap_harness.h"

#include <algorithm>
#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <string>
#include <tuple>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kScenario[] = "tls12-ecdhe-ecdsa-p256";
constexpr char kHeap[] = "100000";
const std::vector<std::string> kModels = {"ideal", "mbedtls-pool", "freertos-heap4", "esp-tlsf",
                                          "umm"};

std::vector<std::string> model_args() {
    std::vector<std::string> args;
    for (const std::string& m : kModels) {
        args.insert(args.end(), {"--model", m});
    }
    return args;
}

// Records the default scenario with `connections` together; returns the trace.
fs::path record(const std::string& name, const std::vector<std::string>& extra) {
    const fs::path dir = scratch_dir("capacity-" + name);
    std::vector<std::string> args = {"profile",    "-q",
                                     "--scenario", kScenario,
                                     "--trace",    (dir / "run.trace").string(),
                                     "--json",     (dir / "run.json").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult r = run_tlsheap(args);
    EXPECT_EQ(r.status, 0) << r.err;
    return dir / "run.trace";
}

json profile_of(const fs::path& trace) {
    return read_json(trace.parent_path() / "run.json");
}

// `replay TRACE --pool BYTES --model M --json`: the document and the status.
std::pair<int, json> replay_on_pool(const fs::path& trace, const std::string& model,
                                    const std::string& pool,
                                    const std::vector<std::string>& extra = {}) {
    const fs::path out = trace.parent_path() / ("replay-" + model + "-" + pool + ".json");
    std::vector<std::string> args = {"replay", trace.string(), "--model", model,
                                     "--pool", pool,           "--json",  out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult r = run_tlsheap(args);
    EXPECT_TRUE(fs::exists(out)) << r.err;
    return {r.status, fs::exists(out) ? read_json(out) : json()};
}

std::map<std::string, json> by_name(const json& models) {
    std::map<std::string, json> out;
    for (const json& m : models) {
        out[m.at("name").get<std::string>()] = m;
    }
    return out;
}

TEST(Capacity, ScenarioAnswerHoldsForEveryModel) {
    const fs::path dir = scratch_dir("capacity-scenario");
    std::vector<std::string> args = {
        "capacity", "-q",  "--scenario", kScenario,
        "--heap",   kHeap, "--json",     (dir / "capacity.json").string()};
    const std::vector<std::string> models = model_args();
    args.insert(args.end(), models.begin(), models.end());
    const RunResult r = run_tlsheap(args);
    ASSERT_EQ(r.status, 0) << r.err;
    const json doc = read_json(dir / "capacity.json");
    EXPECT_EQ(doc.at("kind"), "tlsheap.capacity");
    ASSERT_EQ(doc.at("models").size(), kModels.size());
    std::map<unsigned, fs::path> traces;
    auto trace_with = [&](unsigned k) {
        if (traces.count(k) == 0) {
            traces[k] = record("c" + std::to_string(k), {"--connections", std::to_string(k)});
        }
        return traces[k];
    };
    for (const json& m : doc.at("models")) {
        const std::string name = m.at("name").get<std::string>();
        const unsigned c = m.at("capacity").get<unsigned>();
        SCOPED_TRACE(name + " capacity " + std::to_string(c));
        ASSERT_FALSE(m.at("at_least").get<bool>()) << "100,000 bytes hold only a few connections";
        ASSERT_FALSE(m.at("fails_with_one_more").is_null());
        EXPECT_NE(r.out.find(name), std::string::npos);
        if (c > 0) {
            // C connections fit: no failed allocation, and the footprint the answer gave.
            const auto [status, fits] = replay_on_pool(trace_with(c), name, kHeap);
            EXPECT_EQ(status, 0);
            EXPECT_EQ(fits.at("models")[0].at("failure_count"), 0);
            EXPECT_EQ(fits.at("models")[0].at("footprint"), m.at("footprint"));
        }
        // C + 1 do not: the first failure is the one the answer named.
        const auto [status, fails] = replay_on_pool(trace_with(c + 1), name, kHeap);
        EXPECT_EQ(status, 1);
        const json& run = fails.at("models")[0];
        EXPECT_GT(run.at("failure_count").get<unsigned>(), 0u);
        EXPECT_EQ(run.at("failures")[0].at("size"), m.at("fails_with_one_more").at("size"));
    }
    // What the default scenario's connections cost (see the ConnectionCosts
    // test): two fit in 100,000 bytes, a third does not, for every model.
    // The together start sets every connection up before any handshake: what
    // does not fit is the third connection's record buffer, in SETUP.
    for (const json& m : doc.at("models")) {
        EXPECT_EQ(m.at("capacity"), 2) << m.at("name");
        const json& f = m.at("fails_with_one_more");
        EXPECT_EQ(f.at("connection"), 3) << m.at("name");
        EXPECT_EQ(f.at("phase"), "SETUP") << m.at("name");
        EXPECT_EQ(f.at("size"), 16765) << m.at("name");
        EXPECT_NE(f.at("call_site").get<std::string>().find("mbedtls_ssl_setup"),
                  std::string::npos);
    }
}

TEST(Capacity, TraceOfConcurrentConnectionsGivesTheSameAnswer) {
    const fs::path trace = record("trace-3", {"--connections", "3"});
    const fs::path out = trace.parent_path() / "capacity.json";
    std::vector<std::string> args = {"capacity", trace.string(), "--heap",
                                     kHeap,      "--json",       out.string()};
    const std::vector<std::string> models = model_args();
    args.insert(args.end(), models.begin(), models.end());
    RunResult r = run_tlsheap(args);
    ASSERT_EQ(r.status, 0) << r.err;
    // Kept: a range-for over a member of a temporary would outlive it.
    const json tight = read_json(out);
    for (const json& m : tight.at("models")) {
        EXPECT_EQ(m.at("capacity"), 2) << m.at("name");
        EXPECT_FALSE(m.at("at_least").get<bool>());
    }
    // A heap that holds all three: "at least 3" (below umm's largest heap,
    // 32,768 blocks of 8 bytes, beyond which its block numbers cannot reach).
    r = run_tlsheap({"capacity", trace.string(), "--heap", "250000", "--json", out.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const json roomy = read_json(out);
    for (const json& m : roomy.at("models")) {
        EXPECT_EQ(m.at("capacity"), 3);
        EXPECT_TRUE(m.at("at_least").get<bool>());
    }
    EXPECT_NE(r.out.find("record with more --connections to know more"), std::string::npos);
    // A heap smaller than the first allocations: 0, said so.
    r = run_tlsheap({"capacity", trace.string(), "--heap", "1000"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("not even one connection fits"), std::string::npos);
}

// The application holds 20,000 bytes of the same heap from before the first
// connection: `capacity --scenario --app-heap` answers with them, and so
// does `capacity TRACE --app-heap` for a recording of three connections.
TEST(Capacity, ApplicationBlocksTakeTheirShareOfTheHeap) {
    const std::string spec = "hold=20000";
    const fs::path dir = scratch_dir("capacity-app-heap");
    auto capacity = [&](const std::string& name, std::vector<std::string> args) {
        const fs::path out = dir / (name + ".json");
        args.insert(args.begin(), "capacity");
        args.insert(args.end(), {"-q", "--heap", kHeap, "--json", out.string()});
        const std::vector<std::string> models = model_args();
        args.insert(args.end(), models.begin(), models.end());
        const RunResult r = run_tlsheap(args);
        EXPECT_EQ(r.status, 0) << r.err;
        return std::make_pair(r.out, fs::exists(out) ? read_json(out) : json());
    };
    const auto [plain_out, plain] = capacity("plain", {"--scenario", kScenario});
    const auto [app_out, app] = capacity("app", {"--scenario", kScenario, "--app-heap", spec});
    EXPECT_NE(app_out.find("the application's blocks share the heap: " + spec), std::string::npos)
        << app_out;
    EXPECT_EQ(app.at("source").at("app_heap"), spec);
    EXPECT_FALSE(plain.at("source").contains("app_heap"));
    // The held block is alive through every stream: each live peak is 20,000
    // bytes higher.
    ASSERT_GE(app.at("steps").size(), 2u);
    for (std::size_t k = 0; k < app.at("steps").size() && k < plain.at("steps").size(); ++k) {
        EXPECT_EQ(app.at("steps")[k].at("live_peak").get<std::uint64_t>(),
                  plain.at("steps")[k].at("live_peak").get<std::uint64_t>() + 20000)
            << "k = " << k + 1;
    }
    // Two connections no longer fit where they did (43,071 and 83,717 live
    // bytes, measured): with the block, one connection fits, in every model.
    const std::map<std::string, json> before = by_name(plain.at("models"));
    for (const json& m : app.at("models")) {
        const std::string name = m.at("name");
        EXPECT_EQ(before.at(name).at("capacity"), 2) << name;
        EXPECT_EQ(m.at("capacity"), 1) << name;
    }
    // A recording of three concurrent connections restricted to its first k
    // gives the same answers with the same block.
    const fs::path three = record("app-heap-3", {"--connections", "3"});
    const auto [trace_out, from_trace] = capacity("trace", {three.string(), "--app-heap", spec});
    const std::map<std::string, json> scenario_models = by_name(app.at("models"));
    for (const json& m : from_trace.at("models")) {
        const std::string name = m.at("name");
        EXPECT_EQ(m.at("capacity"), scenario_models.at(name).at("capacity")) << name;
        EXPECT_EQ(m.at("footprint"), scenario_models.at(name).at("footprint")) << name;
    }
}

// A heap that holds about ten connections: k = 1..8 one by one, then 16 (every
// model fails), then bisection. The answers still hold: C connections
// recorded on their own fit, C + 1 do not; and a recording of 16 concurrent
// connections restricted to its first k gives the same answers.
TEST(Capacity, LargerHeapsAreSearchedByDoublingAndBisection) {
    const std::string heap = "430000";
    const std::vector<std::string> two_models = {"--model", "ideal", "--model", "freertos-heap4"};
    const fs::path dir = scratch_dir("capacity-bisection");
    auto capacity = [&](const std::string& name, std::vector<std::string> args) {
        const fs::path out = dir / (name + ".json");
        args.insert(args.begin(), "capacity");
        args.insert(args.end(), {"-q", "--heap", heap, "--json", out.string()});
        args.insert(args.end(), two_models.begin(), two_models.end());
        const RunResult r = run_tlsheap(args);
        EXPECT_EQ(r.status, 0) << r.err;
        return fs::exists(out) ? read_json(out) : json();
    };
    const json doc = capacity("scenario", {"--scenario", kScenario});
    std::vector<unsigned> tried;
    for (const json& step : doc.at("steps")) {
        tried.push_back(step.at("connections").get<unsigned>());
    }
    ASSERT_GE(tried.size(), 10u);
    EXPECT_EQ(std::vector<unsigned>(tried.begin(), tried.begin() + 8),
              (std::vector<unsigned>{1, 2, 3, 4, 5, 6, 7, 8}));
    EXPECT_EQ(tried.back(), 16u) << "doubling from 8";
    EXPECT_LT(tried.size(), 16u) << "bisection skips some k between 8 and 16";
    const json from_trace = capacity("trace", {record("c16", {"--connections", "16"}).string()});
    const std::map<std::string, json> trace_models = by_name(from_trace.at("models"));
    for (const json& m : doc.at("models")) {
        const std::string name = m.at("name");
        const unsigned c = m.at("capacity");
        SCOPED_TRACE(name + " capacity " + std::to_string(c));
        EXPECT_GT(c, 8u);
        EXPECT_LT(c, 16u);
        EXPECT_NE(std::find(tried.begin(), tried.end(), c), tried.end());
        EXPECT_NE(std::find(tried.begin(), tried.end(), c + 1), tried.end());
        ASSERT_FALSE(m.at("fails_with_one_more").is_null());
        const auto [fit_status, fits] = replay_on_pool(
            record("c" + std::to_string(c), {"--connections", std::to_string(c)}), name, heap);
        EXPECT_EQ(fit_status, 0);
        EXPECT_EQ(fits.at("models")[0].at("footprint"), m.at("footprint"));
        const auto [fail_status, fails] = replay_on_pool(
            record("c" + std::to_string(c + 1), {"--connections", std::to_string(c + 1)}), name,
            heap);
        EXPECT_EQ(fail_status, 1);
        EXPECT_EQ(fails.at("models")[0].at("failures")[0].at("size"),
                  m.at("fails_with_one_more").at("size"));
        EXPECT_EQ(trace_models.at(name).at("capacity"), c);
    }
}

TEST(Capacity, BadInputIsOneLineAndExit2) {
    const fs::path one = record("one", {});
    const fs::path three = record("bad-3", {"--connections", "3"});
    const fs::path cycles = record("cycles", {"--reconnects", "3"});
    const std::vector<std::vector<std::string>> bad = {
        {"capacity", three.string()},                            // no --heap
        {"capacity", three.string(), "--heap", "0"},             // absurd heap
        {"capacity", three.string(), "--heap", "2000000000000"}, // absurd heap
        {"capacity", three.string(), "--heap", "12k"},           // not a number
        {"capacity", "--heap", kHeap},                           // nothing to answer for
        {"capacity", three.string(), "--scenario", kScenario, "--heap", kHeap}, // both
        {"capacity", one.string(), "--heap", kHeap},                            // one connection
        {"capacity", cycles.string(), "--heap", kHeap}, // never open together
        {"capacity", three.string(), "--heap", kHeap, "--app-heap", "hold=x"},
    };
    for (const auto& args : bad) {
        const RunResult r = run_tlsheap(args);
        EXPECT_EQ(r.status, 2) << args.back() << "\n" << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

TEST(ConnectionCosts, MarginalCostEqualsSeparateRecordings) {
    const json three = profile_of(record("costs-3", {"--connections", "3"}));
    const json costs = three.at("connection_costs");
    ASSERT_EQ(costs.at("connections"), 3);
    EXPECT_EQ(costs.at("most_open"), 3);
    const json& prefixes = costs.at("prefixes");
    ASSERT_EQ(prefixes.size(), 4u);
    EXPECT_EQ(prefixes[3].at("live_peak"), three.at("live_peak").at("bytes"));
    EXPECT_EQ(prefixes[0].at("live_peak"), costs.at("shared_peak"));
    // Separate recordings with 1 and 2 connections: the k-prefix of the
    // 3-connection recording is the same stream as far as the heap sees it
    // (the together start opens every connection in the same order and
    // interleaves handshake steps round robin), so its live peak and every
    // model's footprint are identical, and so is the marginal cost.
    std::map<unsigned, json> separate;
    separate[1] = profile_of(record("costs-1", {}));
    separate[2] = profile_of(record("costs-2", {"--connections", "2"}));
    for (unsigned k = 1; k <= 2; ++k) {
        SCOPED_TRACE("k = " + std::to_string(k));
        EXPECT_EQ(prefixes[k].at("live_peak"), separate[k].at("live_peak").at("bytes"));
        const auto models = by_name(separate[k].at("models"));
        for (const json& m : prefixes[k].at("models")) {
            EXPECT_EQ(m.at("footprint"), models.at(m.at("name")).at("footprint")) << m.at("name");
        }
    }
    const std::int64_t peak1 = separate[1].at("live_peak").at("bytes");
    const std::int64_t peak2 = separate[2].at("live_peak").at("bytes");
    EXPECT_EQ(prefixes[2].at("cost").get<std::int64_t>(), peak2 - peak1);
    EXPECT_EQ(prefixes[1].at("cost").get<std::int64_t>(),
              peak1 - prefixes[0].at("live_peak").get<std::int64_t>());
    // The marginal cost is a real fraction of a connection, not zero and
    // not the whole first connection's cost over again.
    const std::int64_t marginal = costs.at("marginal_cost").at("live");
    EXPECT_GT(marginal, 30000);
    EXPECT_LT(marginal, prefixes[1].at("cost").get<std::int64_t>());
}

TEST(AppHeap, ApplicationBlocksChangeTheFitOnFreertosHeap4) {
    const fs::path trace = record("app-heap", {"--reconnects", "3"});
    const std::string spec = "hold=8192;between=3000,1500";
    const fs::path dir = trace.parent_path();
    auto replay_json = [&](const std::string& name, std::vector<std::string> extra) {
        std::vector<std::string> args = {"replay",  trace.string(),
                                         "--model", "freertos-heap4",
                                         "--json",  (dir / (name + ".json")).string()};
        args.insert(args.end(), extra.begin(), extra.end());
        const RunResult r = run_tlsheap(args);
        EXPECT_EQ(r.status, 0) << r.err;
        return std::make_pair(r.out, read_json(dir / (name + ".json")));
    };
    const auto [plain_out, plain] = replay_json("plain", {});
    const auto [app_out, app] = replay_json("app", {"--app-heap", spec});
    const std::uint64_t plain_pool = plain.at("models")[0].at("min_pool");
    const std::uint64_t app_pool = app.at("models")[0].at("min_pool");
    const std::uint64_t plain_footprint = plain.at("models")[0].at("footprint");
    const std::uint64_t app_footprint = app.at("models")[0].at("footprint");
    // The application's blocks are in the stream, named as such.
    EXPECT_NE(app_out.find("application: hold"), std::string::npos) << app_out;
    // The hold block adds to every cycle's peak, the between blocks to the
    // later cycles' (whose own peaks are a few bytes below the first's).
    const std::uint64_t plain_peak = plain.at("live_peak").at("bytes");
    const std::uint64_t app_peak = app.at("live_peak").at("bytes");
    EXPECT_GT(app_peak, plain_peak + 8192 + 3000);
    EXPECT_LE(app_peak, plain_peak + 8192 + 3000 + 1500);
    EXPECT_TRUE(app.at("leaks").at("blocks").empty());
    // They need a larger heap: the recording's min pool no longer fits.
    EXPECT_GT(app_footprint, plain_footprint);
    EXPECT_GT(app_pool, plain_pool);
    auto [status, fails] =
        replay_on_pool(trace, "freertos-heap4", std::to_string(plain_pool), {"--app-heap", spec});
    EXPECT_EQ(status, 1);
    EXPECT_GT(fails.at("models")[0].at("failure_count").get<unsigned>(), 0u);
    auto [fit_status, fits] = replay_on_pool(trace, "freertos-heap4", std::to_string(plain_pool));
    EXPECT_EQ(fit_status, 0);
    std::tie(status, fails) =
        replay_on_pool(trace, "freertos-heap4", std::to_string(app_pool), {"--app-heap", spec});
    EXPECT_EQ(status, 0);
}

TEST(AppHeap, BadSpecIsOneLineAndExit2) {
    for (const char* spec : {"hold=", "keep=100", "hold=0", "between=1,x", "hold=1;hold=2"}) {
        const RunResult r = run_tlsheap(
            {"replay",
             (fs::path(TLSHEAP_SOURCE_DIR) / "traces" / "tls12-ecdhe-ecdsa-p256.trace").string(),
             "--app-heap", spec});
        EXPECT_EQ(r.status, 2) << spec;
        EXPECT_NE(r.err.find("--app-heap"), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

} // namespace
} // namespace tlsheap::testing
