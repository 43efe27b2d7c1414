// `tlsheap profile` end to end: real mbedTLS builds, real handshakes against
// the deterministic mbedTLS peer, openssl s_server, gnutls-serv and nginx on
// 127.0.0.1.
#include "process/child_process.h"
#include "tlsheap/trace_info.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap_harness.h"
#include "variants/toolchain.h"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <thread>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Profiled {
    RunResult run;
    json report;
    fs::path trace;
};

Profiled profile(const std::string& name, std::vector<std::string> args,
                 const std::vector<std::pair<std::string, std::string>>& env = {}) {
    const fs::path dir = scratch_dir(name);
    Profiled p;
    p.trace = dir / "run.trace";
    args.insert(args.begin(),
                {"profile", "--json", (dir / "run.json").string(), "--trace", p.trace.string()});
    p.run = run_tlsheap_with_env(args, env);
    if (fs::exists(dir / "run.json")) {
        p.report = read_json(dir / "run.json");
    }
    return p;
}

// Every allocation event of a trace with its phase, state and call stack.
struct Event {
    std::uint64_t seq;
    std::uint64_t size;
    trace::Phase phase;
    std::string state;
    std::vector<std::string> functions; // every inline level of every frame
    trace::CallSite site;
    std::uint32_t connection = trace::kSharedConnection;
};

std::vector<Event> allocations(const fs::path& file, trace::TraceInfo& info) {
    trace::TraceReader reader(file.string());
    trace::Record r;
    std::vector<Event> events;
    trace::Phase phase = trace::Phase::Setup;
    std::uint32_t state = 0;
    std::uint32_t connection = trace::kSharedConnection;
    while (reader.next(r)) {
        if (info.absorb(r)) {
            continue;
        }
        if (r.tag == trace::Tag::Connection) {
            connection = r.connection;
        } else if (r.tag == trace::Tag::Phase) {
            phase = r.phase;
        } else if (r.tag == trace::Tag::StepBegin) {
            state = r.state;
        } else if (r.tag == trace::Tag::Alloc) {
            Event e{r.seq, r.count * r.size,        phase,     info.state_name(state),
                    {},    info.call_site(r.stack), connection};
            if (const auto* frames = info.stack(r.stack)) {
                for (const auto address : *frames) {
                    if (const auto* levels = info.frame(address)) {
                        for (const auto& level : *levels) {
                            e.functions.push_back(level.function);
                        }
                    }
                }
            }
            events.push_back(std::move(e));
        }
    }
    EXPECT_TRUE(reader.complete());
    return events;
}

bool has_function(const Event& e, const std::string& name) {
    return std::find(e.functions.begin(), e.functions.end(), name) != e.functions.end();
}

class ProfileTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { default_ = new Profiled(profile("default", {})); }
    static void TearDownTestSuite() { delete default_; }
    void TearDown() override { expect_nothing_left_running(); }
    static Profiled* default_;
};
Profiled* ProfileTest::default_ = nullptr;

TEST_F(ProfileTest, DefaultScenarioReportsTheHandshakeHeapProfile) {
    const Profiled& p = *default_;
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    const json& j = p.report;
    EXPECT_EQ(j["schema_version"], 1);
    EXPECT_EQ(j["run"]["scenario"], "tls12-ecdhe-ecdsa-p256");
    EXPECT_EQ(j["variant"]["mbedtls_version"], "3.6.6");
    EXPECT_EQ(j["outcomes"][0]["kind"], "handshake");
    EXPECT_EQ(j["outcomes"][0]["text"], "TLSv1.2 TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256");
    EXPECT_EQ(j["outcomes"][1]["text"], "sent 49 received 4141"); // request, header + 4096 bytes

    // The peak happened during the handshake, in a real state, at a real call site.
    EXPECT_GT(j["live_peak"]["bytes"].get<std::uint64_t>(),
              33000u); // two 16 KiB record buffers and more
    EXPECT_EQ(j["live_peak"]["at"]["phase"], "HANDSHAKE");
    EXPECT_NE(j["live_peak"]["at"]["call_site"].get<std::string>().find("library/"),
              std::string::npos);

    // What is alive at the peak adds up to the peak.
    std::uint64_t sum = 0;
    for (const json& s : j["alive_at_peak"]) {
        sum += s["bytes"].get<std::uint64_t>();
    }
    EXPECT_EQ(sum, j["live_peak"]["bytes"].get<std::uint64_t>());

    // Five phases, the handshake's states, every allocation freed.
    std::vector<std::string> phases;
    for (const json& ph : j["phases"]) {
        phases.push_back(ph["phase"]);
    }
    EXPECT_EQ(phases,
              (std::vector<std::string>{"SETUP", "HANDSHAKE", "APPLICATION", "CLOSE", "TEARDOWN"}));
    EXPECT_GE(j["states"].size(), 10u);
    EXPECT_TRUE(j["leaks"]["teardown_reached"]);
    EXPECT_TRUE(j["leaks"]["blocks"].empty());
    EXPECT_EQ(j["summary"]["allocations"], j["summary"]["frees"]);

    // The record buffers are what the library says its buffers are.
    ASSERT_EQ(j["record_buffers"].size(), 2u);
    const std::uint64_t in_len =
        std::stoull(j["variant"]["buffer_sizes"]["in_buffer_len"].get<std::string>());
    const std::uint64_t out_len =
        std::stoull(j["variant"]["buffer_sizes"]["out_buffer_len"].get<std::string>());
    EXPECT_EQ(j["record_buffers"][0]["role"], "in_buf");
    EXPECT_EQ(j["record_buffers"][0]["bytes"].get<std::uint64_t>(), in_len);
    EXPECT_EQ(j["record_buffers"][1]["role"], "out_buf");
    EXPECT_EQ(j["record_buffers"][1]["bytes"].get<std::uint64_t>(), out_len);
    EXPECT_EQ(
        j["record_buffers"][0]["at"]["call_site"].get<std::string>().rfind("mbedtls_ssl_setup", 0),
        0u);

    // The default models ran; the ideal one is the live peak.
    ASSERT_EQ(j["models"].size(), 2u);
    EXPECT_EQ(j["models"][0]["name"], "ideal");
    EXPECT_EQ(j["models"][0]["footprint"], j["live_peak"]["bytes"]);
    EXPECT_EQ(j["models"][1]["name"], "mbedtls-pool");
    EXPECT_GT(j["models"][1]["footprint"].get<std::uint64_t>(),
              j["live_peak"]["bytes"].get<std::uint64_t>());

    // The terminal report says the same.
    EXPECT_NE(p.run.out.find("Live peak"), std::string::npos);
    EXPECT_NE(p.run.out.find("Peak by handshake state"), std::string::npos);
}

TEST_F(ProfileTest, TraceNamesNoDirectoryOfThisMachine) {
    // A trace goes into bug reports and repositories: its paths into the
    // cache and into tlsheap's own files are written "<cache>/...",
    // "<tlsheap>/..." (the config macros, the recorder module, the files of
    // the recorder's frames), and so are the committed sample traces'.
    const Profiled& p = *default_;
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    std::vector<fs::path> traces = {p.trace};
    for (const auto& e : fs::directory_iterator(fs::path(TLSHEAP_SOURCE_DIR) / "traces")) {
        traces.push_back(e.path());
    }
    for (const fs::path& trace : traces) {
        std::ifstream in(trace, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
        for (const std::string& machine :
             {test_cache().string(), std::string(TLSHEAP_SOURCE_DIR), std::string("/.cache/")}) {
            EXPECT_EQ(bytes.find(machine), std::string::npos) << trace << " names " << machine;
        }
        EXPECT_NE(bytes.find("<cache>/mbedtls/"), std::string::npos) << trace;
    }
    const RunResult shown = run_tlsheap({"trace", "show", p.trace.string()});
    ASSERT_EQ(shown.status, 0) << shown.err;
    EXPECT_NE(shown.out.find("<cache>/mbedtls/3.6"), std::string::npos) << shown.out;
    EXPECT_NE(shown.out.find("<cache>/builds/rec-"), std::string::npos) << shown.out; // the module
}

TEST_F(ProfileTest, CertificateChainParsingLandsInServerCertificate) {
    for (const std::string scenario : {"tls12-ecdhe-ecdsa-p256", "tls12-ecdhe-rsa-chain"}) {
        const Profiled p = scenario == "tls12-ecdhe-ecdsa-p256"
                               ? *default_
                               : profile("chain", {"--scenario", scenario});
        ASSERT_EQ(p.run.status, 0) << p.run.err;
        trace::TraceInfo info;
        std::size_t parse_allocs = 0;
        for (const Event& e : allocations(p.trace, info)) {
            if (e.phase == trace::Phase::Handshake && has_function(e, "x509_crt_parse_der_core")) {
                ++parse_allocs;
                EXPECT_EQ(e.state, "SERVER_CERTIFICATE") << scenario << " event " << e.seq;
            }
            // The CA chain is parsed in SETUP, never during the handshake.
            if (has_function(e, "mbedtls_x509_crt_parse") && e.phase != trace::Phase::Setup) {
                ADD_FAILURE() << "CA parsing outside SETUP at event " << e.seq;
            }
        }
        // One allocation per certificate at least (the raw copy); the chain has two in the RSA
        // case.
        EXPECT_GE(parse_allocs, scenario == "tls12-ecdhe-rsa-chain" ? 4u : 2u) << scenario;
    }
}

TEST_F(ProfileTest, CallSitesResolveStaticX509AndSslFunctionsToTheirCallocLine) {
    const Profiled& p = *default_;
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    trace::TraceInfo info;
    std::set<std::string> sites;
    std::map<std::string, trace::CallSite> by_function;
    for (const Event& e : allocations(p.trace, info)) {
        sites.insert(e.site.function);
        by_function[e.site.function] = e.site;
    }
    // "<cache>/mbedtls/3.6": the tree in the cache the test profiled in.
    const std::string recorded = info.meta(trace::meta::kMbedtlsTree);
    const std::string cache_prefix = std::string(trace::meta::kCachePath) + "/";
    ASSERT_EQ(recorded.rfind(cache_prefix, 0), 0u) << recorded;
    const fs::path tree = test_cache() / recorded.substr(cache_prefix.size());
    // x509_crt_parse_der_core and ssl_handshake_init are static functions.
    for (const std::string fn :
         {"x509_crt_parse_der_core", "ssl_handshake_init", "mbedtls_ssl_setup",
          "mbedtls_pem_read_buffer", "mbedtls_mpi_grow"}) {
        ASSERT_TRUE(sites.count(fn)) << fn << " missing among " << sites.size() << " call sites";
        const trace::CallSite& site = by_function[fn];
        ASSERT_EQ(site.file.rfind("library/", 0), 0u) << fn << ": " << site.file;
        // The line is the one that calls mbedtls_calloc.
        std::ifstream source(tree / site.file);
        std::string line;
        for (std::uint32_t n = 0; n < site.line && std::getline(source, line); ++n) {
        }
        EXPECT_NE(line.find("calloc"), std::string::npos)
            << fn << " at " << site.label() << ": " << line;
    }
}

TEST_F(ProfileTest, DeterministicPeerGivesIdenticalEventStreams) {
    const Profiled again = profile("again", {});
    ASSERT_EQ(again.run.status, 0) << again.run.err;
    const fs::path dir = scratch_dir("determinism");
    for (const auto& [trace, out] :
         {std::pair{default_->trace, dir / "a.json"}, std::pair{again.trace, dir / "b.json"}}) {
        const RunResult r =
            run_tlsheap({"trace", "export", trace.string(), "--json", out.string(), "--stable"});
        ASSERT_EQ(r.status, 0) << r.err;
    }
    std::ifstream a(dir / "a.json"), b(dir / "b.json");
    const std::string ta((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>());
    const std::string tb((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>());
    EXPECT_GT(ta.size(), 100000u);
    EXPECT_TRUE(ta == tb) << "stable exports of two runs differ";
    EXPECT_EQ(default_->report["live_peak"]["bytes"], again.report["live_peak"]["bytes"]);
    EXPECT_EQ(default_->report["live_peak"]["at"]["seq"], again.report["live_peak"]["at"]["seq"]);
}

// The scenario file `name` as a copy in `dir` with `psa_init` set, its
// credential paths made absolute.
fs::path scenario_with_psa_init(const fs::path& dir, const std::string& name,
                                const std::string& policy) {
    const fs::path scenarios = fs::path(TLSHEAP_SOURCE_DIR) / "scenarios";
    json s = read_json(scenarios / (name + ".json"));
    json& auth = s["authentication"];
    auth["ca"] = (scenarios / auth["ca"].get<std::string>()).string();
    auth["server_key"] = (scenarios / auth["server_key"].get<std::string>()).string();
    for (json& f : auth["server_chain"]) {
        f = (scenarios / f.get<std::string>()).string();
    }
    s["name"] = name + "-psa-" + policy;
    s["psa_init"] = policy;
    const fs::path file = dir / (name + "-psa-" + policy + ".json");
    std::ofstream(file) << s.dump();
    return file;
}

// Entropy allocations: the accumulator of an entropy context is an md
// context set up for SHA-512 (entropy.c of 3.6: mbedtls_md_setup in
// entropy_update, again after each mbedtls_entropy_func). On ilp32 that is
// sizeof(mbedtls_sha512_context): total[2] and state[8] of uint64_t (16 +
// 64, 4-aligned on i386), buffer[128], is384 (4) = 212 bytes.
constexpr std::uint64_t kIlp32Sha512Context = 16 + 64 + 128 + 4;

std::vector<Event> entropy_accumulators(const std::vector<Event>& events) {
    std::vector<Event> out;
    for (const Event& e : events) {
        if (e.site.function == "mbedtls_md_setup" && has_function(e, "mbedtls_entropy_func")) {
            out.push_back(e);
        }
    }
    return out;
}

TEST_F(ProfileTest, DriverHoldsRealEntropyContextsAndCallsPsaInitOnlyWhenNeeded) {
    ASSERT_EQ(default_->run.status, 0) << default_->run.err;
    // TLS 1.2 on the default 3.6 config (no MBEDTLS_USE_PSA_CRYPTO): like
    // ssl_client2, the driver does not initialize PSA, and nothing else does.
    trace::TraceInfo info;
    const std::vector<Event> auto12 = allocations(default_->trace, info);
    EXPECT_EQ(info.meta(trace::meta::kPsaInit), "auto");
    EXPECT_EQ(info.meta(trace::meta::kEntropy), trace::meta::kEntropySources);
    for (const Event& e : auto12) {
        EXPECT_FALSE(has_function(e, "psa_crypto_init")) << "seq " << e.seq;
    }
    // The application's entropy context gathers and hashes: its accumulator is
    // set up when the DRBG is seeded, and set up again after each output.
    const std::vector<Event> own = entropy_accumulators(auto12);
    ASSERT_GE(own.size(), 2u);
    for (const Event& e : own) {
        EXPECT_EQ(e.size, kIlp32Sha512Context) << "seq " << e.seq;
        EXPECT_EQ(e.phase, trace::Phase::Setup);
        EXPECT_TRUE(has_function(e, "mbedtls_ctr_drbg_seed")) << "seq " << e.seq;
    }

    // psa_init always: PSA's key slots and PSA's own entropy context too.
    const fs::path dir = scratch_dir("psa-init");
    const Profiled always = profile(
        "psa-always",
        {"--scenario", scenario_with_psa_init(dir, "tls12-ecdhe-ecdsa-p256", "always").string()});
    ASSERT_EQ(always.run.status, 0) << always.run.err;
    trace::TraceInfo always_info;
    const std::vector<Event> always12 = allocations(always.trace, always_info);
    EXPECT_EQ(always_info.meta(trace::meta::kPsaInit), "always");
    const auto psa_slots = std::count_if(always12.begin(), always12.end(), [](const Event& e) {
        return has_function(e, "psa_crypto_init") && has_function(e, "psa_initialize_key_slots");
    });
    EXPECT_EQ(psa_slots, 1);
    const std::vector<Event> both = entropy_accumulators(always12);
    const auto psa_entropy = std::count_if(both.begin(), both.end(), [](const Event& e) {
        return has_function(e, "psa_crypto_init");
    });
    EXPECT_GE(psa_entropy, 1);
    EXPECT_EQ(both.size(), own.size() + static_cast<std::size_t>(psa_entropy));
    EXPECT_GT(always.report["live_peak"]["bytes"].get<std::uint64_t>(),
              default_->report["live_peak"]["bytes"].get<std::uint64_t>());

    // TLS 1.3, auto: the library initializes PSA itself when it writes the
    // ClientHello (mbedtls_ssl_tls13_crypto_init), in that step; what it
    // sets up is the process's, recorded as the shared part's.
    const Profiled tls13 = profile("psa-auto-13", {"--scenario", "tls13-ecdsa-p256"});
    ASSERT_EQ(tls13.run.status, 0) << tls13.run.err;
    trace::TraceInfo info13;
    const std::vector<Event> auto13 = allocations(tls13.trace, info13);
    std::size_t by_library = 0;
    for (const Event& e : auto13) {
        if (has_function(e, "psa_crypto_init")) {
            EXPECT_TRUE(has_function(e, "mbedtls_ssl_tls13_crypto_init")) << "seq " << e.seq;
            EXPECT_EQ(e.state, "CLIENT_HELLO") << "seq " << e.seq;
            EXPECT_EQ(e.connection, trace::kSharedConnection) << "seq " << e.seq;
            ++by_library;
        }
    }
    EXPECT_GT(by_library, 0u);
    // Two entropy contexts, the driver's and PSA's, each with its accumulator.
    const std::vector<Event> acc13 = entropy_accumulators(auto13);
    EXPECT_TRUE(std::any_of(acc13.begin(), acc13.end(), [](const Event& e) {
        return has_function(e, "mbedtls_ssl_tls13_crypto_init");
    }));
    EXPECT_TRUE(std::any_of(acc13.begin(), acc13.end(), [](const Event& e) {
        return has_function(e, "mbedtls_ctr_drbg_seed") && !has_function(e, "psa_crypto_init");
    }));
}

TEST_F(ProfileTest, UserConfigWithSetAndUnsetDeltas) {
    const fs::path dir = scratch_dir("userconfig");
    // A TLS 1.2-only device config (3.6 requires KEEP_PEER_CERTIFICATE with TLS
    // 1.3), with a warning of its own, as a newer compiler could give one in
    // the recorder: a warning is not an error on a user's machine.
    const fs::path config = default_config_with(
        dir / "my_config.h", "#undef MBEDTLS_SSL_PROTO_TLS1_3\n#warning \"board config: draft\"\n");
    const std::vector<std::string> args = {"--config",   config.string(),
                                           "--set",      "MBEDTLS_SSL_IN_CONTENT_LEN=4096",
                                           "--unset",    "MBEDTLS_SSL_KEEP_PEER_CERTIFICATE",
                                           "--scenario", "tls12-ecdhe-rsa-chain"};
    const Profiled p = profile("userconfig-run", args, {{"TLSHEAP_STRICT_RECORDER", ""}});
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    const json& v = p.report["variant"];
    EXPECT_EQ(v["buffer_sizes"]["in_content_len"], "4096");
    EXPECT_EQ(v["buffer_sizes"]["out_content_len"], "16384");
    EXPECT_FALSE(v["effective_macros"].contains("MBEDTLS_SSL_KEEP_PEER_CERTIFICATE"));
    EXPECT_NE(v["config"].get<std::string>().find(config.string()), std::string::npos);
    EXPECT_EQ(p.report["record_buffers"][0]["bytes"].get<std::uint64_t>(),
              std::stoull(v["buffer_sizes"]["in_buffer_len"].get<std::string>()));
    EXPECT_LT(std::stoull(v["buffer_sizes"]["in_buffer_len"].get<std::string>()), 16384u);
    std::ifstream effective(v["effective_config_file"].get<std::string>());
    const std::string text((std::istreambuf_iterator<char>(effective)),
                           std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("\n#define MBEDTLS_SSL_IN_CONTENT_LEN 4096\n"), std::string::npos);

    // Our CI builds the recorder with -Werror (TLSHEAP_STRICT_RECORDER=1):
    // the same config fails there, naming the warning.
    const Profiled strict = profile("userconfig-strict", args, {{"TLSHEAP_STRICT_RECORDER", "1"}});
    EXPECT_EQ(strict.run.status, 2) << strict.run.err;
    const auto lines = strict.run.error_lines();
    ASSERT_FALSE(lines.empty()) << strict.run.err;
    EXPECT_NE(lines.front().find("recorder"), std::string::npos) << lines.front();
    EXPECT_NE(strict.run.err.find("board config: draft"), std::string::npos) << strict.run.err;

    // Without the peer's certificate kept, less stays alive after the handshake.
    const Profiled baseline = profile("chain-default", {"--scenario", "tls12-ecdhe-rsa-chain"});
    ASSERT_EQ(baseline.run.status, 0);
    EXPECT_LT(p.report["steady_state"]["live_after_handshake"].get<std::uint64_t>(),
              baseline.report["steady_state"]["live_after_handshake"].get<std::uint64_t>());
}

// The records the server sent, from the trace's TlsRecord records.
struct ReceivedRecord {
    std::uint8_t content_type;
    std::uint32_t length; // payload, the 5-byte header excluded
};
// `info`, when given, takes the trace's description on the way.
std::vector<ReceivedRecord> received_records(const fs::path& trace,
                                             trace::TraceInfo* info = nullptr) {
    trace::TraceReader reader(trace.string());
    trace::Record r;
    std::vector<ReceivedRecord> records;
    while (reader.next(r)) {
        if (info != nullptr && info->absorb(r)) {
            continue;
        }
        if (r.tag == trace::Tag::TlsRecord && r.direction == trace::Direction::In) {
            records.push_back({r.content_type, r.length});
        }
    }
    return records;
}

// A server that took the client's maximum fragment length N (RFC 6066)
// sends no record whose plaintext exceeds N: with the scenarios'
// AES-128-GCM in TLS 1.2, a payload of at most N + 8 (explicit nonce) + 16
// (tag) bytes (RFC 5288 3). The 4 KiB answer then takes at least 4096 / N
// application-data records. mbedTLS does not fragment handshake messages
// in TLS (only in DTLS; Mbed-TLS issue 7010 says so): its Certificate
// message may exceed N, so for the mbedTLS peer only application data is
// held to the bound.
void expect_records_within_the_max_fragment_length(const Profiled& p, std::uint32_t n,
                                                   const std::string& peer) {
    trace::TraceInfo info;
    const std::vector<ReceivedRecord> records = received_records(p.trace, &info);
    EXPECT_EQ(info.meta(trace::meta::kSslMaxFragmentLengthRequested), std::to_string(n));
    constexpr std::uint8_t kApplicationData = 23;
    std::uint32_t application_records = 0;
    for (const ReceivedRecord& r : records) {
        application_records += r.content_type == kApplicationData;
        if (r.content_type == kApplicationData || peer != "mbedtls") {
            EXPECT_LE(r.length, n + 8 + 16) << "content type " << int(r.content_type);
        }
    }
    EXPECT_GE(application_records, 4096 / n);
}

// What the recorder's MQTT 3.1.1 session sends and receives, packet by
// packet (OASIS MQTT 3.1.1, section 3), for a PUBLISH of `payload` bytes to
// "tlsheap/heap" by client "tlsheap-recorder" (recorder_protocol.h).
std::string expected_mqtt_session(std::uint64_t payload) {
    const std::uint64_t topic = 2 + std::string("tlsheap/heap").size();
    const std::uint64_t publish_body = topic + 2 + payload; // topic, packet id, payload
    const std::uint64_t length_bytes = publish_body < 128 ? 1 : publish_body < 16384 ? 2 : 3;
    const std::uint64_t publish = 1 + length_bytes + publish_body;
    // CONNECT: fixed header 2, "MQTT" 6, level, flags, keep alive 2, client id 2 + 16.
    const std::uint64_t connect = 2 + 6 + 1 + 1 + 2 + 2 + std::string("tlsheap-recorder").size();
    const std::uint64_t subscribe = 2 + 2 + topic + 1;
    // ... then PUBACK of the broker's echo 4, PINGREQ 2, DISCONNECT 2.
    const std::uint64_t sent = connect + subscribe + publish + 4 + 2 + 2;
    // CONNACK 4, SUBACK 5, PUBACK 4, the echo, PINGRESP 2.
    const std::uint64_t received = 4 + 5 + 4 + publish + 2;
    return "MQTT 3.1.1: CONNECT, SUBSCRIBE tlsheap/heap QoS 1, PUBLISH " + std::to_string(payload) +
           " bytes QoS 1, PUBACK, echo of " + std::to_string(payload) +
           " bytes, PINGREQ, DISCONNECT; sent " + std::to_string(sent) + " received " +
           std::to_string(received);
}

// Every record of a trace, both directions, as the transport tap saw it.
std::vector<trace::Record> tls_records(const fs::path& file) {
    trace::TraceReader reader(file.string());
    trace::Record r;
    std::vector<trace::Record> records;
    while (reader.next(r)) {
        if (r.tag == trace::Tag::TlsRecord) {
            records.push_back(r);
        }
    }
    return records;
}

// A DTLS recording, record by record (RFC 6347 4.1): every record is a
// datagram record; each direction starts in epoch 0 with sequence number
// 0, numbers its records 0, 1, 2, ... within an epoch and starts the next
// epoch (after its ChangeCipherSpec) at 0 again. The client's first record
// is its ClientHello; with a HelloVerifyRequest (the mbedTLS peer's
// cookies, openssl's and coap-server's always) the second ClientHello
// follows it. The connection ID is taken by the mbedTLS peer only.
void expect_dtls_records(const Profiled& p, const json& s, const std::string& peer) {
    const std::vector<trace::Record> records = tls_records(p.trace);
    ASSERT_FALSE(records.empty());
    std::map<std::pair<int, std::uint16_t>, std::uint64_t> next; // (direction, epoch) -> seq
    std::map<int, std::uint16_t> epoch;
    for (const trace::Record& r : records) {
        EXPECT_TRUE(r.flags & trace::kRecordDatagram);
        const int d = static_cast<int>(r.direction);
        EXPECT_GE(r.epoch, epoch[d]) << "epochs never go back";
        epoch[d] = r.epoch;
        const std::pair<int, std::uint16_t> key(d, r.epoch);
        EXPECT_EQ(r.sequence, next[key]) << "direction " << d << " epoch " << r.epoch;
        next[key] = r.sequence + 1;
    }
    EXPECT_EQ(records.front().direction, trace::Direction::Out);
    EXPECT_EQ(records.front().hs_types, std::vector<std::uint8_t>{1}); // ClientHello
    EXPECT_EQ(epoch[static_cast<int>(trace::Direction::Out)], 1);
    EXPECT_EQ(epoch[static_cast<int>(trace::Direction::In)], 1);
    const std::string handshake = p.report["outcomes"][0]["text"];
    const json dtls = s.value("dtls", json::object());
    const bool hello_verify = peer != "mbedtls" || dtls.value("hello_verify", false);
    EXPECT_EQ(handshake.find("after 1 HelloVerifyRequest") != std::string::npos, hello_verify)
        << handshake;
    if (dtls.contains("connection_id")) {
        const std::string bytes = std::to_string(dtls["connection_id"].get<int>());
        EXPECT_NE(handshake.find(peer == "mbedtls" ? "connection ID: ours " + bytes +
                                                         " bytes, the peer's " + bytes + " bytes"
                                                   : "no connection ID (the peer did not take it)"),
                  std::string::npos)
            << handshake;
    }
    EXPECT_EQ(p.report["tls_records"]["transport"], "datagram");
}

class EveryScenario : public ProfileTest,
                      public ::testing::WithParamInterface<std::tuple<std::string, std::string>> {};

TEST_P(EveryScenario, CompletesAgainstThePeer) {
    const auto& [scenario, peer] = GetParam();
    const json s = json::parse(
        std::ifstream(fs::path(TLSHEAP_SOURCE_DIR) / "scenarios" / (scenario + ".json")));
    const Profiled p = profile(scenario + "-" + peer, {"--scenario", scenario, "--peer", peer});
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    EXPECT_EQ(p.report["outcomes"][0]["kind"], "handshake");
    const std::string expected = s["protocol"] == "tls1.3"    ? "TLSv1.3"
                                 : s["protocol"] == "dtls1.2" ? "DTLSv1.2"
                                                              : "TLSv1.2";
    const std::string handshake = p.report["outcomes"][0]["text"];
    EXPECT_EQ(handshake.rfind(expected, 0), 0u) << handshake;
    // The peer is the program asked for, by its own version line.
    const std::map<std::string, std::string> program = {
        {"mbedtls", "mbedTLS peer"},        {"openssl", "OpenSSL"},
        {"gnutls", "gnutls-serv"},          {"nginx", "nginx"},
        {"mosquitto", "mosquitto version"}, {"coap", "coap-server v"}};
    EXPECT_NE(p.report["run"]["peer"].get<std::string>().find(program.at(peer)), std::string::npos)
        << p.report["run"]["peer"];
    EXPECT_TRUE(p.report["leaks"]["blocks"].empty());
    if (s["protocol"] == "dtls1.2") {
        expect_dtls_records(p, s, peer);
    }
    if (s["exchange"].value("application", "http") == "coap") {
        // RFC 7252 3: a 4-byte header and the 7-byte token "tlsheap"; no
        // Uri-Path option for "/". The mbedTLS peer answers with the same
        // token, Content-Format text/plain (option 12, empty: 1 byte), the
        // payload marker and the scenario's bytes; coap-server with its own
        // text for "/".
        const std::string application = p.report["outcomes"][1]["text"];
        const std::uint64_t response = s["exchange"]["response_bytes"];
        if (peer == "mbedtls") {
            EXPECT_EQ(application, "CoAP GET /: 2.05 Content, " + std::to_string(response) +
                                       " bytes; sent 11 received " +
                                       std::to_string(4 + 7 + 1 + 1 + response));
        } else {
            EXPECT_EQ(application.rfind("CoAP GET /: 2.05 Content, ", 0), 0u) << application;
            EXPECT_NE(application.find("; sent 11 received "), std::string::npos) << application;
        }
        expect_nothing_left_running();
        return;
    }
    if (s["exchange"].value("application", "http") == "mqtt") {
        EXPECT_EQ(p.report["outcomes"][1]["text"],
                  expected_mqtt_session(s["exchange"]["publish_bytes"]));
        expect_nothing_left_running();
        return;
    }
    // The whole answer came in: a header block and the scenario's response bytes.
    const std::uint64_t response = s["exchange"]["response_bytes"];
    const std::string application = p.report["outcomes"][1]["text"];
    const std::uint64_t received = std::stoull(application.substr(application.rfind(' ') + 1));
    EXPECT_GT(received, response) << application;
    EXPECT_GE(p.report["tls_records"]["received"]["bytes"].get<std::uint64_t>(), received);
    if (s.contains("max_fragment_length") && s["max_fragment_length"].is_number() &&
        s["protocol"] != "dtls1.2") {
        expect_records_within_the_max_fragment_length(p, s["max_fragment_length"], peer);
    }
    // A server tlsheap started is stopped.
    expect_nothing_left_running();
}

// A scenario that needs a config the default one is not: run, against
// every peer it lists, by the test named here.
const std::map<std::string, std::string> kNeedsItsOwnConfig = {
    {"tls13-record-size-limit", "RecordSizeLimitKeepsAServersRecordsWithinASmallInputBuffer"}};

// Every scenario file with every peer it lists.
std::vector<std::tuple<std::string, std::string>> scenarios_and_their_peers() {
    std::vector<std::tuple<std::string, std::string>> cells;
    for (const auto& entry : fs::directory_iterator(fs::path(TLSHEAP_SOURCE_DIR) / "scenarios")) {
        if (entry.path().extension() != ".json" ||
            kNeedsItsOwnConfig.count(entry.path().stem().string()) != 0) {
            continue;
        }
        const json s = json::parse(std::ifstream(entry.path()));
        for (const json& peer : s["peers"]) {
            cells.emplace_back(entry.path().stem().string(), peer.get<std::string>());
        }
    }
    std::sort(cells.begin(), cells.end());
    return cells;
}

INSTANTIATE_TEST_SUITE_P(ScenariosAndPeers, EveryScenario,
                         ::testing::ValuesIn(scenarios_and_their_peers()), [](const auto& info) {
                             std::string name =
                                 std::get<0>(info.param) + "_" + std::get<1>(info.param);
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

// RFC 8449 on a 4 KiB input buffer, against gnutls-serv, which follows
// record_size_limit but not max_fragment_length: mbedTLS announces
// MBEDTLS_SSL_IN_CONTENT_LEN as its limit, and the server's TLS 1.3 records
// stay within it (TLSInnerPlaintext <= 4096, plus the 16-byte AES-GCM tag).
// Without the extension the same buffer cannot take the server's records:
// the failure names the record's size and the buffer.
TEST_F(ProfileTest, RecordSizeLimitKeepsAServersRecordsWithinASmallInputBuffer) {
    // Against every peer the scenario lists (gnutls alone: mbedTLS's peer is
    // built without the extension; OpenSSL 3.0 has none).
    const json scenario = json::parse(
        std::ifstream(fs::path(TLSHEAP_SOURCE_DIR) / "scenarios" / "tls13-record-size-limit.json"));
    ASSERT_EQ(scenario["peers"], json::array({"gnutls"}));
    const Profiled limited =
        profile("record-size-limit",
                {"--scenario", "tls13-record-size-limit", "--set", "MBEDTLS_SSL_RECORD_SIZE_LIMIT",
                 "--set", "MBEDTLS_SSL_IN_CONTENT_LEN=4096"});
    ASSERT_EQ(limited.run.status, 0) << limited.run.err;
    std::uint32_t largest = 0;
    for (const ReceivedRecord& r : received_records(limited.trace)) {
        largest = std::max(largest, r.length);
    }
    EXPECT_LE(largest, 4096u + 16u);
    EXPECT_EQ(limited.report["tls_records"]["received"]["largest"], largest);
    // The whole answer came through the small buffer.
    const std::string application = limited.report["outcomes"][1]["text"];
    EXPECT_GT(std::stoull(application.substr(application.rfind(' ') + 1)), 4096u) << application;

    const Profiled unlimited =
        profile("no-record-size-limit", {"--scenario", "tls13-ecdsa-p256", "--peer", "gnutls",
                                         "--set", "MBEDTLS_SSL_IN_CONTENT_LEN=4096"});
    EXPECT_EQ(unlimited.run.status, 1);
    const auto errors = unlimited.run.error_lines();
    ASSERT_EQ(errors.size(), 1u) << unlimited.run.err;
    EXPECT_NE(errors.front().find("but MBEDTLS_SSL_IN_CONTENT_LEN is 4096"), std::string::npos)
        << errors.front();
    EXPECT_EQ(errors.front().find("[peer:"), std::string::npos) << errors.front();
}

// Whether the effective config the profile names defines `macro`.
bool defines(const json& report, const std::string& macro) {
    std::ifstream in(report["variant"]["effective_config_file"].get<std::string>());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.find("\n#define " + macro + "\n") != std::string::npos ||
           text.find("\n#define " + macro + " ") != std::string::npos;
}

// MQTT with a client certificate, as AWS IoT asks, on a device that sends
// little: MBEDTLS_SSL_OUT_CONTENT_LEN 2048 (the RSA chain's Certificate
// message, 1.8 KB, still fits). The record buffers are what 3.6's
// ssl_misc.h makes of the config: MBEDTLS_SSL_HEADER_LEN (13) + the content
// length + MBEDTLS_SSL_PAYLOAD_OVERHEAD (MBEDTLS_MAX_IV_LENGTH 16 +
// MBEDTLS_SSL_MAC_ADD: 48 with HMAC suites and SHA-384, 16 with AEAD only +
// MBEDTLS_SSL_PADDING_ADD: 256 with CBC + MBEDTLS_SSL_MAX_CID_EXPANSION: 16
// with DTLS connection IDs) + MBEDTLS_SSL_CID_IN/OUT_LEN_MAX (32) with
// connection IDs.
TEST_F(ProfileTest, MqttMutualRsaRecordBuffersAreTheConfigsFormula) {
    const Profiled p = profile("mqtt-out-2048", {"--scenario", "mqtt-tls12-mutual-rsa", "--set",
                                                 "MBEDTLS_SSL_OUT_CONTENT_LEN=2048"});
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    EXPECT_EQ(p.report["outcomes"][1]["text"], expected_mqtt_session(256));
    const bool cbc = defines(p.report, "MBEDTLS_CIPHER_MODE_CBC");
    const bool sha384 = defines(p.report, "MBEDTLS_SHA384_C");
    const bool cid = defines(p.report, "MBEDTLS_SSL_DTLS_CONNECTION_ID");
    const std::uint64_t overhead =
        16 + (cbc ? (sha384 ? 48 : 32) : 16) + (cbc ? 256 : 0) + (cid ? 16 : 0);
    const std::uint64_t in_buf = 13 + 16384 + overhead + (cid ? 32 : 0);
    const std::uint64_t out_buf = 13 + 2048 + overhead + (cid ? 32 : 0);
    ASSERT_EQ(p.report["record_buffers"].size(), 2u) << p.report["record_buffers"];
    EXPECT_EQ(p.report["record_buffers"][0]["role"], "in_buf");
    EXPECT_EQ(p.report["record_buffers"][0]["bytes"], in_buf);
    EXPECT_EQ(p.report["record_buffers"][1]["role"], "out_buf");
    EXPECT_EQ(p.report["record_buffers"][1]["bytes"], out_buf);
    // The largest record the client sent, its certificate chain, fits the buffer.
    EXPECT_LE(p.report["tls_records"]["sent"]["largest"].get<std::uint64_t>(), 2048u + overhead);
}

// DTLS fragments a handshake message that does not fit the MTU (RFC 6347
// 4.2.3): with a 400-byte MTU the mbedTLS peer sends its Certificate in
// fragments, no record longer than the MTU allows, and the client
// reassembles it in a buffer ssl_buffer_message allocates of
// ssl_get_reassembly_buffer_size(): the 12-byte handshake header, the
// message, and a bitmap of one bit per byte (library/ssl_msg.c, 3.6).
TEST_F(ProfileTest, DtlsFragmentedCertificateIsReassembledInTheBufferMbedtlsSizes) {
    const Profiled p =
        profile("dtls-fragments", {"--scenario", "dtls12-coap-ecdhe-ecdsa", "--peer", "mbedtls"});
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    unsigned certificate_starts = 0;
    unsigned continuations = 0;
    for (const trace::Record& r : tls_records(p.trace)) {
        if (r.direction != trace::Direction::In) {
            continue;
        }
        EXPECT_LE(r.length + 13, 400u) << "a record beyond the MTU";
        if (std::find(r.hs_types.begin(), r.hs_types.end(), 11) != r.hs_types.end()) {
            ++certificate_starts;
            EXPECT_TRUE(r.flags & trace::kRecordFragment);
        }
        continuations += (r.flags & trace::kRecordContinuesMessage) != 0;
    }
    EXPECT_EQ(certificate_starts, 1u);
    EXPECT_GE(continuations, 1u);
    EXPECT_GT(p.report["tls_records"]["received"]["fragmented_messages"].get<std::uint64_t>(), 1u);
    // The Certificate message: the list's 3-byte length, one certificate
    // with its own 3-byte length.
    const std::uint64_t der = fs::file_size(fs::path(TLSHEAP_SOURCE_DIR) / "scenarios" / "pki" /
                                            "ecdsa-p256" / "server.crt.der");
    const std::uint64_t message = 3 + 3 + der;
    const std::uint64_t reassembly = 12 + message + (message + 7) / 8;
    trace::TraceInfo info;
    bool found = false;
    for (const Event& e : allocations(p.trace, info)) {
        if (has_function(e, "ssl_buffer_message") && e.state == "SERVER_CERTIFICATE") {
            found = found || e.size == reassembly;
        }
    }
    EXPECT_TRUE(found) << "no " << reassembly << "-byte reassembly buffer in SERVER_CERTIFICATE";
}

// --drop-datagram K: the client discards the K-th datagram it receives (here
// one of the server's fragmented first flight); once the socket is quiet
// its timer fires, it sends its last flight again, and the mbedTLS peer,
// seeing that flight again, resends its own (ssl_msg.c: "received message
// from last flight"). Every dropped record comes again, flagged a
// retransmission, and the profile counts both.
TEST_F(ProfileTest, DtlsDroppedDatagramIsRetransmittedInTheRecordsAndTheProfile) {
    const Profiled p = profile("dtls-drop", {"--scenario", "dtls12-coap-ecdhe-ecdsa", "--peer",
                                             "mbedtls", "--drop-datagram", "3"});
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    const std::string handshake = p.report["outcomes"][0]["text"];
    EXPECT_NE(handshake.find("datagram 3 dropped, retransmission timer fired 1 time"),
              std::string::npos)
        << handshake;
    std::vector<trace::Record> dropped;
    std::vector<trace::Record> again;
    std::uint64_t sent_again = 0;
    for (const trace::Record& r : tls_records(p.trace)) {
        if (r.direction == trace::Direction::Out) {
            sent_again += (r.flags & trace::kRecordRetransmission) != 0;
        } else if (r.flags & trace::kRecordDropped) {
            EXPECT_TRUE(again.empty()) << "one datagram is dropped, before any resend";
            dropped.push_back(r);
        } else if (r.flags & trace::kRecordRetransmission) {
            again.push_back(r);
        }
    }
    ASSERT_FALSE(dropped.empty());
    EXPECT_GE(sent_again, 1u);
    for (const trace::Record& d : dropped) {
        const bool resent = std::any_of(again.begin(), again.end(), [&](const trace::Record& r) {
            return r.content_type == d.content_type && r.epoch == d.epoch && r.length == d.length &&
                   r.hs_types == d.hs_types && r.sequence > d.sequence;
        });
        EXPECT_TRUE(resent) << "dropped record seq " << d.sequence << " never came again";
    }
    const json& received = p.report["tls_records"]["received"];
    EXPECT_EQ(received["dropped"]["records"], dropped.size());
    EXPECT_EQ(received["retransmitted"]["records"], again.size());
    EXPECT_EQ(p.report["tls_records"]["sent"]["retransmitted"]["records"], sent_again);
    EXPECT_EQ(p.report["outcomes"][1]["text"], "CoAP GET /: 2.05 Content, 256 bytes; sent 11 "
                                               "received 269");
}

// Two DTLS connections at once, their handshakes interleaved step by step:
// the mbedTLS peer serves both from one UDP socket, sorting datagrams by the
// client's address, and each takes its connection ID.
TEST_F(ProfileTest, DtlsConcurrentConnectionsShareThePeersOneSocket) {
    const Profiled p = profile("dtls-together", {"--scenario", "dtls12-psk-ccm8", "--connections",
                                                 "2", "--start", "together"});
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    unsigned handshakes = 0;
    for (const json& o : p.report["outcomes"]) {
        if (o["kind"] == "handshake") {
            ++handshakes;
            EXPECT_NE(o["text"].get<std::string>().find(
                          "connection ID: ours 4 bytes, the peer's 4 bytes"),
                      std::string::npos)
                << o["text"];
        }
    }
    EXPECT_EQ(handshakes, 2u);
}

// A DTLS server with cookies answers the first ClientHello with a
// HelloVerifyRequest and resets its context for the second
// (mbedtls_ssl_session_reset, as mbedTLS's dtls_server.c does).
TEST_F(ProfileTest, DtlsServerSideSendsOneHelloVerifyRequestAndResets) {
    const Profiled p =
        profile("dtls-server", {"--scenario", "dtls12-ecdhe-ecdsa-p256", "--side", "server"});
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    const std::string handshake = p.report["outcomes"][0]["text"];
    EXPECT_NE(handshake.find("after 1 HelloVerifyRequest"), std::string::npos) << handshake;
    unsigned sent = 0;
    for (const trace::Record& r : tls_records(p.trace)) {
        sent += r.direction == trace::Direction::Out && r.hs_types == std::vector<std::uint8_t>{3};
    }
    EXPECT_EQ(sent, 1u);
    trace::TraceReader reader(p.trace.string());
    trace::Record r;
    unsigned resets = 0;
    while (reader.next(r)) {
        resets += r.tag == trace::Tag::Activity && r.begin && r.key == "ssl_session_reset";
    }
    EXPECT_EQ(resets, 1u);
}

TEST_F(ProfileTest, ServerSideIsRecordedAgainstTheMbedtlsPeerAsClient) {
    const Profiled p = profile("server-side", {"--side", "server"});
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    EXPECT_EQ(p.report["run"]["side"], "server");
    trace::TraceInfo info;
    const auto events = allocations(p.trace, info);
    EXPECT_EQ(info.meta(trace::meta::kRecorderSide), "server");
    // The server parses its own certificate and key in SETUP and signs ServerKeyExchange.
    bool signed_ske = false;
    for (const Event& e : events) {
        signed_ske =
            signed_ske || (e.state == "SERVER_KEY_EXCHANGE" && e.phase == trace::Phase::Handshake);
    }
    EXPECT_TRUE(signed_ske);
}

TEST_F(ProfileTest, ConcurrentRunsShareTheCachedTraceOfAVariant) {
    // Without --trace every run of a scenario on a variant writes the same
    // file in the cache; tests and sweep shards run several at once.
    const fs::path dir = scratch_dir("concurrent");
    constexpr int kRuns = 8;
    std::vector<RunResult> runs(kRuns);
    std::vector<std::thread> threads;
    for (int i = 0; i < kRuns; ++i) {
        threads.emplace_back([&, i] {
            runs[i] = run_tlsheap({"profile", "--scenario", "tls12-psk-aes128-ccm", "--json",
                                   (dir / (std::to_string(i) + ".json")).string()});
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    std::set<std::string> traces;
    std::set<std::uint64_t> peaks;
    std::set<std::uint64_t> counts;
    for (int i = 0; i < kRuns; ++i) {
        ASSERT_EQ(runs[i].status, 0) << runs[i].err;
        const json report = read_json(dir / (std::to_string(i) + ".json"));
        EXPECT_EQ(report["run"]["trace_complete"], true);
        traces.insert(report["run"]["trace"].get<std::string>());
        peaks.insert(report["live_peak"]["bytes"].get<std::uint64_t>());
        counts.insert(report["summary"]["allocations"].get<std::uint64_t>());
    }
    ASSERT_EQ(traces.size(), 1u);
    EXPECT_EQ(peaks.size(), 1u);
    ASSERT_EQ(counts.size(), 1u);
    // The file left in the cache is a whole trace of the same handshake.
    const fs::path trace = *traces.begin();
    trace::TraceInfo info;
    EXPECT_EQ(allocations(trace, info).size(), *counts.begin());
    for (const auto& entry : fs::directory_iterator(trace.parent_path())) {
        EXPECT_EQ(entry.path().string().find(trace.string() + ".tmp"), std::string::npos)
            << "left behind: " << entry.path();
    }
}

TEST_F(ProfileTest, Mbedtls228WorksThroughEveryStage) {
    const Profiled p = profile("mbedtls228", {"--mbedtls", "2.28"});
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    EXPECT_EQ(p.report["variant"]["mbedtls_version"], "2.28.3");
    trace::TraceInfo info;
    allocations(p.trace, info);
    // 2.28's own state enum: it has SERVER_NEW_SESSION_TICKET, 3.6 does not.
    bool has_228_state = false;
    for (const auto& [id, name] : info.state_names()) {
        has_228_state = has_228_state || name == "SERVER_NEW_SESSION_TICKET";
    }
    EXPECT_TRUE(has_228_state);
    EXPECT_EQ(p.report["record_buffers"].size(), 2u);
}

TEST_F(ProfileTest, FramePointerStacksMatchLibunwindStacks) {
    // The default backend walks frame pointers; libunwind unwinds from DWARF
    // tables. Up to main (libunwind also lists the C runtime above it) every
    // allocation's stack must be the same.
    const Profiled fast = profile("fp", {"--scenario", "tls13-ecdsa-p256", "--abi", "host",
                                         "--stack-backend", "frame-pointer"});
    const Profiled dwarf = profile(
        "unw", {"--scenario", "tls13-ecdsa-p256", "--abi", "host", "--stack-backend", "libunwind"});
    ASSERT_EQ(fast.run.status, 0) << fast.run.err;
    ASSERT_EQ(dwarf.run.status, 0) << dwarf.run.err;
    trace::TraceInfo fast_info;
    trace::TraceInfo dwarf_info;
    EXPECT_EQ(fast_info.meta(trace::meta::kStackBackend), "");
    const auto a = allocations(fast.trace, fast_info);
    const auto b = allocations(dwarf.trace, dwarf_info);
    EXPECT_EQ(fast_info.meta(trace::meta::kStackBackend), "frame-pointer");
    EXPECT_EQ(dwarf_info.meta(trace::meta::kStackBackend), "libunwind");
    ASSERT_EQ(a.size(), b.size());
    ASSERT_GT(a.size(), 1000u);
    auto up_to_main = [](std::vector<std::string> functions) {
        const auto main = std::find(functions.begin(), functions.end(), "main");
        if (main != functions.end()) {
            functions.erase(main + 1, functions.end());
        }
        return functions;
    };
    for (std::size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(up_to_main(a[i].functions), up_to_main(b[i].functions))
            << "allocation " << a[i].seq;
        ASSERT_FALSE(a[i].functions.empty());
    }
}

TEST_F(ProfileTest, ConnectRecordsAgainstAServerTheUserRuns) {
    // The user's server: openssl s_server with the ECDSA test PKI, serving
    // the 4096-byte file the default scenario asks for.
    const fs::path dir = scratch_dir("connect");
    {
        std::ofstream body(dir / "4096", std::ios::binary);
        body << std::string(4096, 'x');
    }
    const fs::path pki = fs::path(TLSHEAP_SOURCE_DIR) / "scenarios" / "pki" / "ecdsa-p256";
    process::LaunchOptions server;
    server.argv = {"openssl",
                   "s_server",
                   "-accept",
                   "127.0.0.1:0",
                   "-naccept",
                   "1",
                   "-WWW",
                   "-cert",
                   (pki / "server.crt.pem").string(),
                   "-key",
                   (pki / "server.key.pem").string()};
    server.working_directory = dir.string();
    process::ChildProcess s(server);
    const auto accept = s.wait_for_line(
        [](const std::string& l) { return l.rfind("ACCEPT", 0) == 0; }, std::chrono::seconds(10));
    ASSERT_TRUE(accept) << s.stderr_text();
    const std::string port = accept->substr(accept->rfind(':') + 1);
    const Profiled p = profile("connect-run", {"--connect", "127.0.0.1:" + port, "--ca",
                                               (pki / "root.crt.pem").string(), "--server-name",
                                               "server.tlsheap.test"});
    s.stop();
    ASSERT_EQ(p.run.status, 0) << p.run.err;
    EXPECT_EQ(p.report["run"]["peer"], "external server 127.0.0.1:" + port);
    EXPECT_EQ(p.report["outcomes"][0]["kind"], "handshake");
    // A server the user runs sees the real clock and real randomness.
    trace::TraceInfo info;
    allocations(p.trace, info);
    EXPECT_EQ(info.meta(trace::meta::kFixedTime), "0");

    // The wrong server name is refused by certificate verification, in SERVER_CERTIFICATE.
    process::ChildProcess again(server);
    const auto accept2 = again.wait_for_line(
        [](const std::string& l) { return l.rfind("ACCEPT", 0) == 0; }, std::chrono::seconds(10));
    ASSERT_TRUE(accept2);
    const Profiled wrong =
        profile("connect-wrong-name",
                {"--connect", "127.0.0.1:" + accept2->substr(accept2->rfind(':') + 1), "--ca",
                 (pki / "root.crt.pem").string(), "--server-name", "not-the-server.example"});
    again.stop();
    EXPECT_EQ(wrong.run.status, 1);
    EXPECT_NE(wrong.run.err.find("SERVER_CERTIFICATE"), std::string::npos) << wrong.run.err;
    EXPECT_NE(wrong.run.err.find("Common Name (CN) does not match"), std::string::npos)
        << wrong.run.err;
}

TEST_F(ProfileTest, KilledRecorderLeavesATruncatedTraceThatStillReads) {
    const std::string recorder = default_->report["variant"]["recorder"];
    const fs::path dir = scratch_dir("killed");
    const fs::path trace = dir / "killed.trace";
    SilentListener silent;
    // As tlsheap runs it: natively, or under qemu-i386 on a kernel that runs
    // no 32-bit programs (the toolchain's probe in the test cache says which).
    ::setenv("TLSHEAP_CACHE_DIR", test_cache().c_str(), 1);
    const std::string abi = default_->report["variant"]["abi"];
    process::LaunchOptions options;
    options.argv = build::toolchain_for(abi).runner;
    options.argv.insert(options.argv.end(), {recorder, "--mode", "client", "--connect",
                                             "127.0.0.1:" + std::to_string(silent.port()),
                                             "--trace", trace.string(), "--timeout-ms", "60000"});
    process::ChildProcess child(options);
    // Wait until the recorder is blocked in the handshake, then kill it.
    for (int i = 0; i < 200 && (!fs::exists(trace) || fs::file_size(trace) < 4000); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(500)); // SETUP done, waiting for ServerHello
    child.stop();
    EXPECT_TRUE(child.killed_by_signal());
    trace::TraceReader reader(trace.string());
    trace::Record r;
    std::uint64_t events = 0;
    while (reader.next(r)) {
        events += r.tag == trace::Tag::Alloc;
    }
    EXPECT_TRUE(reader.truncated());
    EXPECT_GT(events, 10u); // SETUP's allocations were flushed before the handshake blocked

    const RunResult show = run_tlsheap({"trace", "show", trace.string()});
    EXPECT_EQ(show.status, 0) << show.err;
    EXPECT_NE(show.out.find("TRUNCATED"), std::string::npos);
    const RunResult replayed = run_tlsheap({"replay", trace.string()});
    EXPECT_EQ(replayed.status, 0) << replayed.err;
    EXPECT_NE(replayed.out.find("did not reach TEARDOWN"), std::string::npos);
}

} // namespace
} // namespace tlsheap::testing
