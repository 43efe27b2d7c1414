// Every JSON document tlsheap writes, produced by the real binary, checked
// against its schema in docs/json-schema with Debian's python3-jsonschema
// (validate_json.py); broken documents must fail, so that a schema that
// accepts anything is caught too.
#include "json_schema_check.h"
#include "tlsheap_harness.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kSchemas = schema_dir();
const fs::path kTraces = fs::path(TLSHEAP_SOURCE_DIR) / "traces";
const fs::path kFixtures = fs::path(TLSHEAP_SOURCE_DIR) / "tests" / "src" / "documents";

// Runs tlsheap with `--json FILE` (or whatever option `json_option` is) and
// returns the document it wrote.
json written(const std::string& name, std::vector<std::string> args,
             const std::string& json_option = "--json", int expected_status = 0) {
    const fs::path file = scratch_dir("schema-out-" + name) / "out.json";
    args.push_back(json_option);
    args.push_back(file.string());
    const RunResult r = run_tlsheap(args);
    EXPECT_EQ(r.status, expected_status) << r.err;
    if (!fs::exists(file)) {
        ADD_FAILURE() << "tlsheap wrote no " << file << "\n" << r.err;
        return json();
    }
    return read_json(file);
}

std::string trace(const std::string& name) {
    return (kTraces / (name + ".trace")).string();
}

const std::vector<std::string> kSchemaFiles = {
    "profile.schema.json",  "profile-abis.schema.json", "trace-export.schema.json",
    "compare.schema.json",  "minpool.schema.json",      "diff.schema.json",
    "sweep.schema.json",    "gate.schema.json",         "advise.schema.json",
    "capacity.schema.json", "oom.schema.json"};

TEST(JsonSchema, EverySchemaIsDraft07AndParses) {
    std::vector<std::string> on_disk;
    for (const auto& entry : fs::directory_iterator(kSchemas)) {
        on_disk.push_back(entry.path().filename().string());
    }
    std::sort(on_disk.begin(), on_disk.end());
    std::vector<std::string> expected = kSchemaFiles;
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(on_disk, expected);
    for (const std::string& name : kSchemaFiles) {
        const json s = read_json(kSchemas / name);
        EXPECT_EQ(s.value("$schema", ""), "http://json-schema.org/draft-07/schema#") << name;
        EXPECT_FALSE(s.value("description", "").empty()) << name;
        EXPECT_TRUE(s["properties"].contains("schema_version")) << name;
        EXPECT_EQ(validator_errors({schema(name)}), std::vector<std::string>{})
            << name << " is not a valid draft-07 schema";
    }
}

// What github-action-benchmark's custom tools and Bencher's json adapter
// read (from their documentation), to check `tlsheap export` against.
const json kBenchmarkActionSchema = json::parse(R"({
  "type": "array", "minItems": 1,
  "items": {"type": "object", "required": ["name", "unit", "value"],
            "additionalProperties": false,
            "properties": {"name": {"type": "string", "minLength": 1}, "unit": {"const": "bytes"},
                           "value": {"type": "integer", "minimum": 0},
                           "range": {"type": "string"}, "extra": {"type": "string"}}}})");
const json kBmfSchema = json::parse(R"({
  "type": "object", "minProperties": 1,
  "additionalProperties": {
    "type": "object", "minProperties": 1,
    "propertyNames": {"pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 64},
    "additionalProperties": {"type": "object", "required": ["value"],
      "additionalProperties": false,
      "properties": {"value": {"type": "number"}, "lower_value": {"type": "number"},
                     "upper_value": {"type": "number"}}}}})");

void expect_exports_valid(const std::string& name, const std::string& document) {
    const fs::path dir = scratch_dir("schema-export-" + name);
    for (const auto& [format, format_schema] :
         {std::pair{"benchmark-action", &kBenchmarkActionSchema}, std::pair{"bmf", &kBmfSchema}}) {
        const fs::path out = dir / (std::string(format) + ".json");
        const RunResult r =
            run_tlsheap({"export", document, "--format", format, "--output", out.string()});
        ASSERT_EQ(r.status, 0) << r.err;
        const auto errs = errors(*format_schema, read_json(out));
        EXPECT_TRUE(errs.empty()) << format << ":\n" << joined(errs);
    }
}

TEST(JsonSchema, ProfileValidatesAndExports) {
    const fs::path dir = scratch_dir("schema-profile");
    const RunResult r =
        run_tlsheap({"profile", "--quiet", "--scenario", "tls12-psk-aes128-ccm", "--json",
                     (dir / "p.json").string(), "--trace", (dir / "p.trace").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const json p = read_json(dir / "p.json");
    EXPECT_VALID("profile.schema.json", p);
    // Every field the compact form may drop is really written by profile.
    EXPECT_TRUE(p.contains("series"));
    // A point is the heap after its own last event: never above its maximum.
    std::uint64_t previous = 0;
    for (const json& point : p["series"]["points"]) {
        EXPECT_GT(point["seq"].get<std::uint64_t>(), previous);
        EXPECT_LE(point["live"].get<std::uint64_t>(), point["live_max"].get<std::uint64_t>())
            << "seq " << point["seq"];
        previous = point["seq"].get<std::uint64_t>();
    }
    EXPECT_TRUE(p["variant"].contains("effective_macros"));
    EXPECT_TRUE(p["alive_at_peak"][0].contains("stack"));
    expect_exports_valid("profile", (dir / "p.json").string());
}

TEST(JsonSchema, ProfileWithResumedHandshakesValidates) {
    const fs::path dir = scratch_dir("schema-profile-resumed");
    const RunResult r =
        run_tlsheap({"profile", "--quiet", "--scenario", "tls12-psk-aes128-ccm", "--reconnects",
                     "2", "--resume", "session-id", "--json", (dir / "p.json").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const json p = read_json(dir / "p.json");
    ASSERT_TRUE(p.contains("resumption"));
    EXPECT_VALID("profile.schema.json", p);
}

TEST(JsonSchema, ProfileWithStackAndItsTraceExportValidate) {
    const fs::path dir = scratch_dir("schema-profile-stack");
    const RunResult r =
        run_tlsheap({"profile", "--quiet", "--stack", "--scenario", "tls12-psk-aes128-ccm",
                     "--json", (dir / "p.json").string(), "--trace", (dir / "p.trace").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    // The terminal report has the budget line next to the JSON.
    EXPECT_NE(r.out.find("RAM budget      heap + stack = "), std::string::npos) << r.out;
    const json p = read_json(dir / "p.json");
    ASSERT_TRUE(p.contains("stack"));
    EXPECT_VALID("profile.schema.json", p);
    const json exported = written("export-stack", {"trace", "export", (dir / "p.trace").string()});
    EXPECT_VALID("trace-export.schema.json", exported);
    std::size_t marks = 0;
    for (const json& e : exported["events"]) {
        marks += e["type"] == "stack_high_water" ? 1 : 0;
    }
    EXPECT_GT(marks, p["states"].size()); // one per step at least
}

TEST(JsonSchema, ProfileOnTwoAbisAndItsDiffValidate) {
    const fs::path dir = scratch_dir("schema-abis");
    const std::string abis = (dir / "abis.json").string();
    const std::string ilp32 = (dir / "ilp32.json").string();
    RunResult r = run_tlsheap({"profile", "--quiet", "--scenario", "tls12-psk-aes128-ccm", "--abi",
                               "host", "--abi", "ilp32", "--json", abis});
    ASSERT_EQ(r.status, 0) << r.err;
    const json doc = read_json(abis);
    EXPECT_VALID("profile-abis.schema.json", doc);
    ASSERT_EQ(doc["profiles"].size(), 2u);
    EXPECT_VALID("profile.schema.json", doc["profiles"][0]);
    expect_exports_valid("abis", abis);

    r = run_tlsheap({"profile", "--quiet", "--scenario", "tls12-psk-aes128-ccm", "--json", ilp32});
    ASSERT_EQ(r.status, 0) << r.err;
    // The ilp32 cells pair (deterministic: no change), the host cell is only in A.
    const json d = written("abis-diff", {"diff", abis, ilp32});
    EXPECT_VALID("diff.schema.json", d);
    EXPECT_EQ(d["summary"]["paired"], 1);
    EXPECT_EQ(d["summary"]["only_in_a"], 1);
}

TEST(JsonSchema, ReplayOfCommittedTracesValidates) {
    const std::vector<std::string> all_models = {
        "--model",        "ideal",   "--model",  "mbedtls-pool", "--model",
        "freertos-heap4", "--model", "esp-tlsf", "--model",      "umm"};
    auto replay = [&](const std::string& name, std::vector<std::string> args, int status = 0) {
        args.insert(args.begin(), "replay");
        args.insert(args.end(), all_models.begin(), all_models.end());
        return written("replay-" + name, args, "--json", status);
    };
    EXPECT_VALID("profile.schema.json", replay("p256", {trace("tls12-ecdhe-ecdsa-p256")}));
    EXPECT_VALID("profile.schema.json", replay("server", {trace("tls12-psk-aes128-ccm-server")}));
    EXPECT_VALID("profile.schema.json", replay("rsa", {trace("tls12-ecdhe-rsa-chain")}));
    EXPECT_VALID("profile.schema.json", replay("tls13", {trace("tls13-ecdsa-p256")}));
    const json real_pool = replay("real-pool", {trace("tls12-ecdhe-ecdsa-p256-real-pool")});
    EXPECT_VALID("profile.schema.json", real_pool);
    EXPECT_TRUE(real_pool.contains("real_pool"));
    EXPECT_VALID("profile.schema.json", replay("esp-dynamic", {trace("tls12-esp-https-request"),
                                                               "--transform", "esp-dynamic"}));
    // A pool too small: every model fails, the document lists the failures.
    const json failing =
        replay("small-pool", {trace("tls12-ecdhe-ecdsa-p256"), "--pool", "20000"}, 1);
    EXPECT_VALID("profile.schema.json", failing);
    EXPECT_GT(failing["models"][0]["failure_count"].get<int>(), 0);
    EXPECT_FALSE(failing["models"][0]["heap"]["fits"].get<bool>());
}

TEST(JsonSchema, ReconnectsOnAHeapValidate) {
    // Every cycle row, with each model's heap figures, and a verdict per model.
    const fs::path file = scratch_dir("schema-reconnects-heap") / "p.json";
    const RunResult r = run_tlsheap({"profile", "--quiet", "--reconnects", "3", "--heap", "60000",
                                     "--model", "freertos-heap4", "--model", "esp-tlsf", "--model",
                                     "umm", "--json", file.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const json p = read_json(file);
    EXPECT_VALID("profile.schema.json", p);
    ASSERT_EQ(p["cycles"].size(), 3u);
    EXPECT_EQ(p["cycles"][2]["models"][1]["heap"].size(), 3u);
    EXPECT_TRUE(p["models"][0]["heap"]["fits"].get<bool>());
    expect_exports_valid("reconnects-heap", file.string());
}

// Two connections: the profile's connection_costs, and capacity's answer
// from that trace and with an application heap.
TEST(JsonSchema, ConnectionCostsAndCapacityValidate) {
    const fs::path dir = scratch_dir("schema-connections");
    const std::string trace_file = (dir / "two.trace").string();
    const RunResult r =
        run_tlsheap({"profile", "--quiet", "--connections", "2", "--app-heap", "hold=4096",
                     "--trace", trace_file, "--json", (dir / "two.json").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const json p = read_json(dir / "two.json");
    EXPECT_VALID("profile.schema.json", p);
    ASSERT_TRUE(p.contains("connection_costs"));
    EXPECT_FALSE(p["connection_costs"]["marginal_cost"].is_null());
    json broken = p;
    broken["connection_costs"]["prefixes"][0].erase("live_peak");
    EXPECT_INVALID("profile.schema.json", broken, "a prefix without its live peak");

    const json c = written("capacity", {"capacity", trace_file, "--heap", "60000"});
    EXPECT_VALID("capacity.schema.json", c);
    const json fits = written("capacity-all", {"capacity", trace_file, "--heap", "400000"});
    EXPECT_VALID("capacity.schema.json", fits);
    json bad = c;
    bad["models"][0].erase("capacity");
    EXPECT_INVALID("capacity.schema.json", bad, "a model without its capacity");
}

TEST(JsonSchema, DiffOfTwoReplaysValidates) {
    const std::string t = trace("tls12-esp-https-request");
    const fs::path dir = scratch_dir("schema-diff");
    const std::string a = (dir / "a.json").string();
    const std::string b = (dir / "b.json").string();
    ASSERT_EQ(run_tlsheap({"replay", t, "--json", a}).status, 0);
    ASSERT_EQ(run_tlsheap({"replay", t, "--transform", "esp-dynamic", "--json", b}).status, 0);
    const json d = written("diff-out", {"diff", a, b});
    EXPECT_VALID("diff.schema.json", d);
    ASSERT_EQ(d["cells"].size(), 1u);
    EXPECT_TRUE(d["cells"][0]["changed"].get<bool>());
    EXPECT_FALSE(d["cells"][0]["call_sites"].empty());
    EXPECT_FALSE(d["cells"][0]["metrics"].empty());
}

TEST(JsonSchema, TraceExportValidatesWithAndWithoutStable) {
    for (const std::string name : {"tls12-ecdhe-ecdsa-p256", "tls12-ecdhe-ecdsa-p256-real-pool",
                                   "tls12-psk-aes128-ccm-server"}) {
        const json full = written("export-" + name, {"trace", "export", trace(name)});
        EXPECT_VALID("trace-export.schema.json", full);
        EXPECT_FALSE(full["modules"].empty()) << name;
        const json stable =
            written("export-stable-" + name, {"trace", "export", trace(name), "--stable"});
        EXPECT_VALID("trace-export.schema.json", stable);
        EXPECT_TRUE(stable["modules"].empty()) << name;
    }
}

TEST(JsonSchema, CompareValidates) {
    // The server trace gives rows where a client-only scheme does not apply.
    const json c = written("compare", {"compare", trace("tls12-ecdhe-ecdsa-p256"),
                                       trace("tls12-psk-aes128-ccm-server")});
    EXPECT_VALID("compare.schema.json", c);
    bool some_error = false;
    for (const json& row : c["rows"]) {
        some_error = some_error || !row["error"].is_null();
    }
    EXPECT_TRUE(some_error) << "no row exercises the error field";
}

TEST(JsonSchema, MinpoolValidates) {
    EXPECT_VALID("minpool.schema.json",
                 written("minpool", {"minpool", trace("tls12-ecdhe-ecdsa-p256")}));
    EXPECT_VALID(
        "minpool.schema.json",
        written("minpool-transform", {"minpool", trace("tls12-esp-https-request"), "--transform",
                                      "esp-dynamic", "--model", "esp-tlsf"}));
}

// A sweep with a success among its runs (resumption that falls back to a
// full handshake) and one with a leak (TLS 1.3's transform,
// tests/integration/oom_test.cpp). A pool sweep's document and a whole
// sweep's are validated by the oom suite, which writes them anyway (a pool
// sweep runs a handshake per pool size: minutes on a slow machine).
TEST(JsonSchema, OomValidates) {
    const json resumed = written("oom", {"oom", "-q", "--scenario", "tls12-psk-aes128-ccm",
                                         "--reconnects", "2", "--resume", "ticket"});
    EXPECT_VALID("oom.schema.json", resumed);
    EXPECT_GT(resumed["counts"]["success"].get<int>(), 0);
    const json leak =
        written("oom-leak", {"oom", "-q", "--scenario", "tls13-ecdsa-p256", "--calls", "1600-1612"},
                "--json", 1);
    EXPECT_VALID("oom.schema.json", leak);
    EXPECT_GT(leak["counts"]["leak"].get<int>(), 0);
    json bad = resumed;
    bad["runs"][0]["class"] = "fine";
    EXPECT_INVALID("oom.schema.json", bad, "a class the schema does not know");
}

TEST(JsonSchema, SweepShardsMergeAndGateValidate) {
    // The grid of the sweep tests (its variants are built once): a failing
    // cell (IN_CONTENT_LEN 1024 against the RSA chain) exercises the error fields.
    const std::vector<std::string> grid = {"sweep",      "--quiet",
                                           "--vary",     "MBEDTLS_SSL_IN_CONTENT_LEN=4096,1024",
                                           "--scenario", "tls12-ecdhe-rsa-chain",
                                           "--scenario", "tls12-psk-aes128-ccm",
                                           "--model",    "mbedtls-pool",
                                           "--model",    "umm"};
    const fs::path dir = scratch_dir("schema-sweep");
    const json sweep = written("sweep", grid);
    EXPECT_VALID("sweep.schema.json", sweep);
    bool some_failure = false;
    for (const json& c : sweep["cells"]) {
        some_failure = some_failure || c["status"] != "ok";
    }
    EXPECT_TRUE(some_failure) << "no cell exercises the error fields";
    std::ofstream(dir / "sweep.json") << sweep.dump();
    expect_exports_valid("sweep", (dir / "sweep.json").string());

    std::vector<std::string> shard_args = grid;
    shard_args.insert(shard_args.end(), {"--shard", "1/2"});
    const json shard = written("sweep-shard", shard_args);
    EXPECT_VALID("sweep.schema.json", shard);
    std::ofstream(dir / "shard1.json") << shard.dump();
    shard_args.back() = "2/2";
    std::ofstream(dir / "shard2.json") << written("sweep-shard2", shard_args).dump();
    EXPECT_VALID("sweep.schema.json", written("merge", {"merge", (dir / "shard1.json").string(),
                                                        (dir / "shard2.json").string()}));

    const std::string base = (dir / "sweep.json").string();
    EXPECT_VALID("gate.schema.json",
                 written("gate-pass", {"gate", "--baseline", base, "--current", base,
                                       "--max-increase", "umm.footprint=1%"}));
    json grown = sweep;
    for (json& c : grown["cells"]) {
        if (c["status"] == "ok") {
            c["profile"]["live_peak"]["bytes"] = c["profile"]["live_peak"]["bytes"].get<int>() + 64;
        }
    }
    std::ofstream(dir / "grown.json") << grown.dump();
    const json verdict = written(
        "gate-regression", {"gate", "--baseline", base, "--current", (dir / "grown.json").string()},
        "--json", 1);
    EXPECT_VALID("gate.schema.json", verdict);
    EXPECT_EQ(verdict["verdict"], "regression");
}

TEST(JsonSchema, AdviseValidatesWithAndWithoutVerification) {
    const fs::path dir = scratch_dir("schema-advise");
    const std::string t = (dir / "rsa.trace").string();
    ASSERT_EQ(
        run_tlsheap({"profile", "--quiet", "--scenario", "tls12-ecdhe-rsa-chain", "--trace", t})
            .status,
        0);
    EXPECT_VALID("advise.schema.json", written("advise", {"advise", "--quiet", t}));
    // Proposal 1 is the smallest IN_CONTENT_LEN (shared with the advise tests' build).
    const json verified =
        written("advise-verify", {"advise", "--quiet", t, "--verify", "--only", "1"});
    EXPECT_VALID("advise.schema.json", verified);
    EXPECT_EQ(verified["proposals"][0]["verification"]["status"], "ok");
    // A committed trace of another side and version.
    EXPECT_VALID(
        "advise.schema.json",
        written("advise-server", {"advise", "--quiet", trace("tls12-psk-aes128-ccm-server")}));
}

TEST(JsonSchema, DiffAndExportRefuseUnusableInputWithOneLine) {
    const fs::path dir = scratch_dir("schema-bad-input");
    const std::string profile = (kFixtures / "profile_a.json").string();
    std::ofstream(dir / "not.json") << "{ \"kind\": ";
    std::ofstream(dir / "v2.json") << R"({"schema_version": 2, "kind": "tlsheap.profile"})";
    const std::string trace_doc = (dir / "trace.json").string();
    ASSERT_EQ(
        run_tlsheap({"trace", "export", trace("tls12-psk-aes128-ccm-server"), "--json", trace_doc})
            .status,
        0);
    const std::vector<std::vector<std::string>> cases = {
        {"diff", profile, (dir / "missing.json").string()},
        {"diff", (dir / "not.json").string(), profile},
        {"diff", profile, (dir / "v2.json").string()},
        {"diff", trace_doc, profile},
        {"export", trace_doc, "--format", "bmf"},
        {"export", profile, "--format", "csv"},
        {"export", (dir / "v2.json").string(), "--format", "benchmark-action"},
    };
    for (const auto& args : cases) {
        const RunResult r = run_tlsheap(args);
        EXPECT_EQ(r.status, 2) << args[0] << " " << args[1] << "\n" << r.err;
        ASSERT_EQ(r.error_lines().size(), 1u) << r.err;
        EXPECT_EQ(r.error_lines()[0].rfind("tlsheap: error: ", 0), 0u) << r.err;
    }
    // Differences are not an error.
    EXPECT_EQ(run_tlsheap({"diff", profile, (kFixtures / "profile_b.json").string()}).status, 0);
}

// Sweep and gate documents are written by their own commands; these are
// hand-written examples of their shapes (also used by the unit tests).
TEST(JsonSchema, ExampleDocumentsValidate) {
    EXPECT_VALID("profile.schema.json", read_json(kFixtures / "profile_a.json"));
    EXPECT_VALID("profile.schema.json", read_json(kFixtures / "profile_b.json"));
    EXPECT_VALID("sweep.schema.json", read_json(kFixtures / "sweep.json"));
    EXPECT_VALID("gate.schema.json", read_json(kFixtures / "gate.json"));
}

TEST(JsonSchema, BrokenDocumentsFail) {
    const json p = written("broken-base", {"replay", trace("tls12-ecdhe-ecdsa-p256")});
    ASSERT_TRUE(errors(schema("profile.schema.json"), p).empty());

    json bad = p;
    bad["live_peak"]["bytes"] = std::to_string(p["live_peak"]["bytes"].get<std::uint64_t>());
    EXPECT_INVALID("profile.schema.json", bad, "live_peak.bytes as a string");
    bad = p;
    bad.erase("models");
    EXPECT_INVALID("profile.schema.json", bad, "no models");
    bad = p;
    bad["phases"][0]["phase"] = "HANDSHAKING";
    EXPECT_INVALID("profile.schema.json", bad, "unknown phase");
    bad = p;
    bad["peak"] = 1;
    EXPECT_INVALID("profile.schema.json", bad, "unknown top-level field");
    bad = p;
    bad["models"][0]["min_pool"] = -1;
    EXPECT_INVALID("profile.schema.json", bad, "negative min_pool");
    bad = p;
    bad["schema_version"] = 2;
    EXPECT_INVALID("profile.schema.json", bad, "schema_version 2");
    bad = p;
    bad["live_peak"]["at"]["stack"] = json::array({"f (x.c:1)"});
    bad["live_peak"]["at"].erase("call_site");
    EXPECT_INVALID("profile.schema.json", bad, "a stack without a call site");

    // The compact form a sweep embeds is valid...
    json compact = p;
    compact.erase("series");
    compact["variant"].erase("effective_macros");
    compact["live_peak"]["at"].erase("stack");
    for (json& s : compact["alive_at_peak"]) {
        s.erase("stack");
    }
    EXPECT_VALID("profile.schema.json", compact);
    // ...and a broken profile is caught through the other files' $ref.
    EXPECT_VALID("profile-abis.schema.json", json({{"schema_version", 1},
                                                   {"kind", "tlsheap.profile-abis"},
                                                   {"profiles", {p, compact}}}));
    json broken_profile = p;
    broken_profile.erase("summary");
    EXPECT_INVALID("profile-abis.schema.json",
                   json({{"schema_version", 1},
                         {"kind", "tlsheap.profile-abis"},
                         {"profiles", {p, broken_profile}}}),
                   "a profile without summary inside profile-abis");
    EXPECT_INVALID(
        "profile-abis.schema.json",
        json(
            {{"schema_version", 1}, {"kind", "tlsheap.profile-abis"}, {"profiles", json::array()}}),
        "no profiles");
    json sweep = read_json(kFixtures / "sweep.json");
    sweep["cells"][0]["profile"] = broken_profile;
    EXPECT_INVALID("sweep.schema.json", sweep, "a profile without summary inside a sweep");
    sweep = read_json(kFixtures / "sweep.json");
    sweep["cells"][0]["profile"] = nullptr;
    EXPECT_INVALID("sweep.schema.json", sweep, "status ok without a profile");
    sweep = read_json(kFixtures / "sweep.json");
    sweep["cells"][1]["status"] = "failed";
    EXPECT_INVALID("sweep.schema.json", sweep, "unknown status");
    sweep = read_json(kFixtures / "sweep.json");
    sweep["grid"]["repeat"] = 0;
    EXPECT_INVALID("sweep.schema.json", sweep, "repeat 0");

    json gate = read_json(kFixtures / "gate.json");
    gate["verdict"] = "fail";
    EXPECT_INVALID("gate.schema.json", gate, "unknown verdict");
    gate = read_json(kFixtures / "gate.json");
    gate["thresholds"]["live_peak"].erase("percent");
    EXPECT_INVALID("gate.schema.json", gate, "threshold without percent");

    json t = written("broken-trace", {"trace", "export", trace("tls12-psk-aes128-ccm-server")});
    t["events"].push_back({{"type", "allocate"}});
    EXPECT_INVALID("trace-export.schema.json", t, "unknown event type");
    t = written("broken-trace-stable",
                {"trace", "export", trace("tls12-psk-aes128-ccm-server"), "--stable"});
    for (json& e : t["events"]) {
        if (e["type"] == "alloc") {
            e["call_site"] = "f (x.c:1)"; // both forms at once
            break;
        }
    }
    EXPECT_INVALID("trace-export.schema.json", t, "an alloc with both stack and call_site");

    json d = read_json(kFixtures / "profile_a.json");
    const fs::path dir = scratch_dir("schema-broken-diff");
    {
        std::ofstream(dir / "a.json") << d.dump();
        d["live_peak"]["bytes"] = 1;
        std::ofstream(dir / "b.json") << d.dump();
    }
    json diff =
        written("broken-diff", {"diff", (dir / "a.json").string(), (dir / "b.json").string()});
    ASSERT_TRUE(errors(schema("diff.schema.json"), diff).empty());
    diff["cells"][0]["metrics"][0]["delta"] = 0;
    EXPECT_INVALID("diff.schema.json", diff, "an unchanged entry");

    json m = written("broken-minpool",
                     {"minpool", trace("tls12-psk-aes128-ccm-server"), "--model", "umm"});
    m["models"][0]["method"] = "guess";
    EXPECT_INVALID("minpool.schema.json", m, "unknown method");
}

} // namespace
} // namespace tlsheap::testing
