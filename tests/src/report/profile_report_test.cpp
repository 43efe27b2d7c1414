// The profile report (terminal and JSON) of a committed sample trace, replayed
// here: each line and field checked against the replay result it renders,
// and against what is known of the recording (scripts/record-sample-traces.sh
// recorded it on a 131072-byte memory_buffer_alloc pool).
#include "../../replay/committed_traces.h"
#include "../../replay/trace_builder.h"
#include "../printed_text.h"
#include "report/caller_chain.h"
#include "report/profile_json.h"
#include "report/terminal_profile.h"
#include "tlsheap/min_pool.h"
#include "tlsheap/number_format.h"
#include "tlsheap/profile_trace.h"

#include <algorithm>
#include <cstdio>
#include <gtest/gtest.h>
#include <set>
#include <sstream>

namespace tlsheap::report {
namespace {

const std::string kTrace =
    std::string(TLSHEAP_SOURCE_DIR) + "/traces/tls12-ecdhe-ecdsa-p256-real-pool.trace";

struct Replayed {
    RunDescription run;
    replay::ReplayResult result;
};

const Replayed& replayed() {
    static const Replayed r = [] {
        Replayed out;
        trace::TraceReader reader(kTrace);
        replay::ReplayOptions options;
        options.models = {replay::ModelSpec::parse("ideal"),
                          replay::ModelSpec::parse("mbedtls-pool")};
        out.result = replay::replay_trace(reader, options);
        // The ideal heap's minimum pool, as the profile command asks for it.
        const auto pools = replay::find_min_pools(kTrace, {replay::ModelSpec::parse("ideal")});
        out.result.min_pools[pools.front().model] = pools.front().min_pool;
        out.run.scenario = "tls12-ecdhe-ecdsa-p256";
        out.run.side = "client";
        out.run.peer = "mbedTLS ssl_server2";
        out.run.mbedtls_version = "3.6.6";
        out.run.mbedtls_origin = "test";
        out.run.abi = "host";
        out.run.config_label = "(default mbedtls_config.h)";
        out.run.variant_key = "0123456789abcdef0123";
        out.run.recorder_key = "fedcba9876543210fedc";
        out.run.build_cached = true;
        out.run.trace_path = kTrace;
        out.run.trace_bytes = 157483;
        return out;
    }();
    return r;
}

std::string render(const RunDescription& run, const replay::ReplayResult& result,
                   const ReportOptions& options = {}) {
    return tlsheap::testing::printed_text(
        [&](std::FILE* out) { print_profile(out, run, result, options); });
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

std::vector<std::string> fields_of(const std::string& line) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string f; in >> f;) {
        fields.push_back(f);
    }
    return fields;
}

// The lines after the one equal to `heading`, up to the next empty line.
std::vector<std::string> section(const std::vector<std::string>& lines,
                                 const std::string& heading) {
    std::vector<std::string> out;
    auto it = std::find(lines.begin(), lines.end(), heading);
    if (it == lines.end()) {
        ADD_FAILURE() << "no section " << heading;
        return out;
    }
    for (++it; it != lines.end() && !it->empty(); ++it) {
        out.push_back(*it);
    }
    return out;
}

bool has_line(const std::vector<std::string>& lines, const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

TEST(ProfileReport, TheSampleTraceIsARealPoolRecording) {
    const replay::ReplayResult& r = replayed().result;
    ASSERT_TRUE(r.complete);
    ASSERT_EQ(r.pool_stats.size(), 7u);
    EXPECT_EQ(r.pool_stats[0], 131072u); // --real-pool 131072
    ASSERT_EQ(r.models.size(), 2u);
    EXPECT_TRUE(r.models[1].compared_with_real_pool);
    EXPECT_GT(r.live_peak.bytes, 0u);
    EXPECT_EQ(r.live_peak.at.phase, trace::Phase::Handshake);
}

TEST(ProfileReport, TerminalHeaderAndLivePeak) {
    const auto& [run, r] = replayed();
    const auto lines = lines_of(render(run, r));
    ASSERT_GT(lines.size(), 20u);
    EXPECT_EQ(lines[0],
              "tlsheap profile: scenario tls12-ecdhe-ecdsa-p256, client side, peer: mbedTLS "
              "ssl_server2");
    EXPECT_TRUE(has_line(
        lines, "  build: cached (variant 0123456789ab, recorder fedcba987654), 0 files compiled"));
    EXPECT_TRUE(has_line(lines, "  trace: " + kTrace + " (" + grouped(r.events) +
                                    " events, 157,483 bytes, complete)"));
    EXPECT_TRUE(has_line(lines, "Allocations     " + grouped(r.allocs) + " allocations, " +
                                    grouped(r.frees) + " frees (" + grouped(r.null_frees) +
                                    " of NULL), " + grouped(r.bytes_allocated) +
                                    " bytes requested in total"));
    EXPECT_TRUE(has_line(lines, "Live peak       " + grouped(r.live_peak.bytes) + " bytes in " +
                                    r.info.state_name(r.live_peak.at.state) +
                                    " (HANDSHAKE), event " + grouped(r.live_peak.at.seq)));
    ASSERT_NE(r.live_peak.at.stack, 0u);
    EXPECT_TRUE(has_line(lines, "                reached by " +
                                    r.info.call_site(r.live_peak.at.stack).label()));
}

TEST(ProfileReport, TerminalPhaseAndStateTablesMatchTheReplay) {
    const auto& [run, r] = replayed();
    const auto lines = lines_of(render(run, r));
    const auto phase_rows = section(lines, "Peak by phase");
    unsigned seen = 0;
    for (unsigned p = 0; p < trace::kPhaseCount; ++p) {
        const replay::PhaseFigures& f = r.phases[p];
        if (!f.seen) {
            continue;
        }
        ++seen;
        ASSERT_LT(seen, phase_rows.size()); // row 0 is the column heading
        EXPECT_EQ(
            fields_of(phase_rows[seen]),
            (std::vector<std::string>{trace::phase_name(static_cast<trace::Phase>(p)),
                                      grouped(f.peak.bytes), grouped(f.allocs), grouped(f.frees),
                                      grouped(f.bytes_allocated), grouped(f.live_at_end)}));
    }
    EXPECT_GE(seen, 3u); // SETUP, HANDSHAKE and more
    EXPECT_EQ(phase_rows.size(), seen + 1);

    const auto state_rows = section(lines, "Peak by handshake state (in the order stepped)");
    ASSERT_EQ(state_rows.size(), r.states.size() + 1);
    for (std::size_t i = 0; i < r.states.size(); ++i) {
        const replay::StateFigures& s = r.states[i];
        EXPECT_EQ(fields_of(state_rows[i + 1]),
                  (std::vector<std::string>{r.info.state_name(s.state), grouped(s.peak.bytes),
                                            grouped(s.allocs), grouped(s.frees),
                                            grouped(s.bytes_allocated)}));
    }
    // The state of the live peak has the highest peak of all states.
    std::uint64_t highest = 0;
    for (const auto& s : r.states) {
        highest = std::max(highest, s.peak.bytes);
    }
    EXPECT_EQ(highest, r.live_peak.bytes);
}

TEST(ProfileReport, TerminalCallSitesTopAndModels) {
    const auto& [run, r] = replayed();
    ReportOptions options;
    options.top_sites = 3;
    const auto lines = lines_of(render(run, r, options));
    const std::string heading = "Alive at the live peak, by call site (top 3 of " +
                                std::to_string(r.alive_at_peak.size()) + ")";
    const auto sites = section(lines, heading);
    ASSERT_FALSE(sites.empty());
    // Three sites, each possibly followed by its "<- callers" line.
    unsigned site_rows = 0;
    for (std::size_t i = 1; i < sites.size(); ++i) {
        if (fields_of(sites[i]).front() != "<-") {
            ++site_rows;
        }
    }
    EXPECT_EQ(site_rows, 3u);
    EXPECT_EQ(fields_of(sites[1])[0], grouped(r.alive_at_peak[0].bytes));
    EXPECT_NE(sites[1].find(r.alive_at_peak[0].site), std::string::npos);
    // Everything alive at the peak, grouped by call site, is the live peak.
    std::uint64_t sum = 0;
    for (const auto& s : r.alive_at_peak) {
        sum += s.bytes;
    }
    EXPECT_EQ(sum, r.live_peak.bytes);

    const auto models = section(lines, "Replayed through allocator models");
    ASSERT_GE(models.size(), 3u);
    const auto ideal = fields_of(models[1]);
    ASSERT_GE(ideal.size(), 7u);
    EXPECT_EQ(ideal[0], "ideal");
    EXPECT_EQ(ideal[1], grouped(r.live_peak.bytes)); // footprint: the live peak
    EXPECT_EQ(ideal[2], "0");                        // overhead
    EXPECT_EQ(ideal[3], "0.0%");                     // fragmentation
    EXPECT_EQ(ideal[4], grouped(r.live_peak.bytes)); // min pool: the live peak too
    const auto pool = fields_of(models[2]);
    EXPECT_EQ(pool[0], "mbedtls-pool");
    EXPECT_EQ(pool[1], grouped(r.models[1].footprint));
    EXPECT_EQ(pool[2], grouped(r.models[1].footprint - r.live_peak.bytes));
    EXPECT_EQ(pool[4], "-"); // no minimum pool asked for
    const replay::ModelRun& m = r.models[1];
    EXPECT_TRUE(has_line(models, "      against the real memory_buffer_alloc of this recording "
                                 "(the model in its " +
                                     grouped(m.real_pool_size) +
                                     "-byte pool): " + grouped(m.real_pool_matches) + " of " +
                                     grouped(m.real_pool_matches + m.real_pool_mismatches) +
                                     " allocations at the same offset"));
    EXPECT_EQ(m.real_pool_mismatches, 0u);

    EXPECT_TRUE(has_line(lines, "Real memory_buffer_alloc   pool 131,072 bytes, header " +
                                    std::to_string(r.pool_stats[1]) + ": max_used " +
                                    grouped(r.pool_stats[2]) + ", max_blocks " +
                                    grouped(r.pool_stats[3])));
    ASSERT_TRUE(r.teardown_reached);
    EXPECT_TRUE(has_line(
        lines, r.leaks.empty()
                   ? "Leaks           none: every allocation was freed by the end of "
                     "TEARDOWN"
                   : "Leaks           " + std::to_string(r.leaks.size()) + " blocks, " +
                         grouped(r.leaked_bytes) + " bytes still allocated after TEARDOWN"));

    ReportOptions no_models;
    no_models.show_models = false;
    const auto without = lines_of(render(run, r, no_models));
    EXPECT_FALSE(has_line(without, "Replayed through allocator models"));
}

TEST(ProfileReport, JsonCarriesTheReplayFigures) {
    const auto& [run, r] = replayed();
    const nlohmann::json j = profile_json(run, r);
    EXPECT_EQ(j.at("schema_version"), kProfileSchemaVersion);
    EXPECT_EQ(j.at("kind"), "tlsheap.profile");
    EXPECT_EQ(j.at("run").at("trace"), kTrace);
    EXPECT_EQ(j.at("run").at("trace_complete"), true);
    EXPECT_EQ(j.at("variant").at("pointer_size"), r.info.pointer_size());
    EXPECT_EQ(j.at("variant").at("key"), "0123456789abcdef0123");
    EXPECT_EQ(j.at("variant").at("build").at("cached"), true);
    EXPECT_EQ(j.at("variant").at("effective_macros").size(), [&] {
        std::set<std::string> names;
        for (const auto& [n, v] : r.info.config()) {
            names.insert(n);
        }
        return names.size();
    }());

    const auto& summary = j.at("summary");
    EXPECT_EQ(summary.at("events"), r.events);
    EXPECT_EQ(summary.at("allocations"), r.allocs);
    EXPECT_EQ(summary.at("frees"), r.frees);
    EXPECT_EQ(summary.at("bytes_allocated"), r.bytes_allocated);

    const auto& peak = j.at("live_peak");
    EXPECT_EQ(peak.at("bytes"), r.live_peak.bytes);
    EXPECT_EQ(peak.at("at").at("seq"), r.live_peak.at.seq);
    EXPECT_EQ(peak.at("at").at("phase"), "HANDSHAKE");
    EXPECT_EQ(peak.at("at").at("state"), r.info.state_name(r.live_peak.at.state));
    EXPECT_EQ(peak.at("at").at("call_site"), r.info.call_site(r.live_peak.at.stack).label());
    EXPECT_EQ(peak.at("at").at("stack"), r.info.describe_stack(r.live_peak.at.stack));

    std::vector<unsigned> seen;
    for (unsigned p = 0; p < trace::kPhaseCount; ++p) {
        if (r.phases[p].seen) {
            seen.push_back(p);
        }
    }
    const auto& phases = j.at("phases");
    ASSERT_EQ(phases.size(), seen.size());
    for (std::size_t i = 0; i < seen.size(); ++i) {
        const replay::PhaseFigures& f = r.phases[seen[i]];
        EXPECT_EQ(phases[i].at("phase"), trace::phase_name(static_cast<trace::Phase>(seen[i])));
        EXPECT_EQ(phases[i].at("peak_bytes"), f.peak.bytes);
        EXPECT_EQ(phases[i].at("allocations"), f.allocs);
        EXPECT_EQ(phases[i].at("frees"), f.frees);
        EXPECT_EQ(phases[i].at("live_at_end"), f.live_at_end);
    }
    ASSERT_EQ(j.at("states").size(), r.states.size());
    EXPECT_EQ(j.at("states")[0].at("state"), r.info.state_name(r.states[0].state));
    EXPECT_EQ(j.at("states")[0].at("steps"), r.states[0].steps);

    // Every site is listed; only the top ones carry their stack.
    const auto& sites = j.at("alive_at_peak");
    ASSERT_EQ(sites.size(), r.alive_at_peak.size());
    ASSERT_GT(sites.size(), ReportOptions{}.top_sites);
    EXPECT_TRUE(sites[0].contains("stack"));
    EXPECT_FALSE(sites[ReportOptions{}.top_sites].contains("stack"));
    EXPECT_EQ(sites[0].at("bytes"), r.alive_at_peak[0].bytes);

    const auto& models = j.at("models");
    ASSERT_EQ(models.size(), 2u);
    EXPECT_EQ(models[0].at("name"), "ideal");
    EXPECT_EQ(models[0].at("footprint"), r.live_peak.bytes);
    EXPECT_EQ(models[0].at("overhead"), 0u);
    EXPECT_EQ(models[0].at("min_pool"), r.live_peak.bytes);
    EXPECT_TRUE(models[0].at("real_pool_comparison").is_null());
    EXPECT_EQ(models[1].at("name"), "mbedtls-pool");
    EXPECT_EQ(models[1].at("footprint"), r.models[1].footprint);
    EXPECT_TRUE(models[1].at("min_pool").is_null());
    EXPECT_TRUE(models[1].at("pool_size").is_null());
    EXPECT_EQ(models[1].at("real_pool_comparison").at("mismatches"), 0u);
    EXPECT_EQ(models[1].at("real_pool_comparison").at("matches"), r.models[1].real_pool_matches);
    EXPECT_DOUBLE_EQ(
        models[1].at("fragmentation").get<double>(),
        static_cast<double>(r.models[1].footprint) / static_cast<double>(r.live_peak.bytes) - 1.0);

    EXPECT_EQ(j.at("real_pool").at("pool_size"), 131072u);
    EXPECT_EQ(j.at("real_pool").at("max_used"), r.pool_stats[2]);
    EXPECT_EQ(j.at("leaks").at("teardown_reached"), r.teardown_reached);
    EXPECT_EQ(j.at("leaks").at("bytes"), r.leaked_bytes);
    EXPECT_EQ(j.at("series").at("models"), (nlohmann::json{"ideal", "mbedtls-pool"}));
    EXPECT_EQ(j.at("series").at("points").size(), r.series.size());
}

// A DTLS recording: the records of a dropped and a retransmitted ClientHello
// and of a fragmented Certificate, in the record summary and its one line.
TEST(ProfileReport, DatagramRecordsAreCountedByWhatHappenedToThem) {
    using trace::Direction;
    tlsheap::testing::TraceBuilder b;
    b.phase(trace::Phase::Handshake).alloc(100, 0x1000);
    b.datagram_record(Direction::Out, 22, 120, 0, 0,
                      trace::kRecordPlaintext | trace::kRecordDropped, {1});
    b.datagram_record(Direction::Out, 22, 120, 0, 1,
                      trace::kRecordPlaintext | trace::kRecordRetransmission, {1});
    b.datagram_record(Direction::In, 22, 312, 0, 1,
                      trace::kRecordPlaintext | trace::kRecordFragment, {11});
    b.datagram_record(Direction::In, 22, 212, 0, 2,
                      trace::kRecordPlaintext | trace::kRecordFragment |
                          trace::kRecordContinuesMessage);
    b.datagram_record(Direction::In, 23, 40, 1, 0);
    b.phase(trace::Phase::Teardown).free(0x1000);
    auto reader = trace::TraceReader::from_bytes(b.finish());
    const replay::ReplayResult r = replay::replay_trace(*reader, {});
    RunDescription run;
    run.scenario = "dtls12";
    const nlohmann::json records = profile_json(run, r).at("tls_records");
    EXPECT_EQ(records.at("transport"), "datagram");
    EXPECT_EQ(records.at("sent").at("count"), 2u);
    EXPECT_EQ(records.at("sent").at("dropped"), (nlohmann::json{{"records", 1}, {"bytes", 120}}));
    EXPECT_EQ(records.at("sent").at("retransmitted"),
              (nlohmann::json{{"records", 1}, {"bytes", 120}}));
    EXPECT_EQ(records.at("sent").at("fragmented_messages"), 0u);
    EXPECT_EQ(records.at("received").at("count"), 3u);
    EXPECT_EQ(records.at("received").at("fragmented_messages"), 2u);
    EXPECT_EQ(records.at("received").at("retransmitted").at("records"), 0u);
    EXPECT_TRUE(has_line(lines_of(render(run, r)),
                         "DTLS records    retransmitted: sent 1 (120 bytes); dropped: sent 1 (120 "
                         "bytes); fragments: received 2"));

    // A TLS recording says stream, with nothing retransmitted, and no such line.
    const auto& tls = replayed();
    const nlohmann::json stream = profile_json(tls.run, tls.result).at("tls_records");
    EXPECT_EQ(stream.at("transport"), "stream");
    EXPECT_EQ(stream.at("received").at("dropped").at("records"), 0u);
    EXPECT_EQ(render(tls.run, tls.result).find("DTLS records"), std::string::npos);
}

// Stack 1: the platform layer, the call site, then its callers (one of them
// recursing) and a frame outside mbedTLS.
TEST(ProfileReport, CallerChainNamesDistinctMbedtlsCallers) {
    tlsheap::testing::TraceBuilder b;
    auto bytes = b.frame(0x10, {"mbedtls_calloc"})
                     .frame(0x20, {"x509_crt_parse_der_core"})
                     .frame(0x30, {"x509_crt_parse_der_internal", "x509_crt_parse_der_internal"})
                     .frame(0x40, {"mbedtls_x509_crt_parse_der"})
                     .frame(0x50, {"mbedtls_x509_crt_parse"})
                     .unfinished();
    trace::RecordEncoder stack;
    stack.varint(1).varint(5);
    for (int i = 0; i < 5; ++i) {
        stack.svarint(0x10); // 0x10, 0x20, ... 0x50, delta-coded
    }
    stack.emit(trace::Tag::Stack, bytes);
    trace::encode_end(bytes, 0);
    auto reader = trace::TraceReader::from_bytes(bytes);
    trace::TraceInfo info;
    trace::Record rec;
    while (reader->next(rec)) {
        info.absorb(rec);
    }
    EXPECT_EQ(info.call_site(1).function, "x509_crt_parse_der_core");
    EXPECT_EQ(caller_chain(info, 1, 2),
              "x509_crt_parse_der_internal <- mbedtls_x509_crt_parse_der");
    EXPECT_EQ(caller_chain(info, 1, 4), "x509_crt_parse_der_internal <- mbedtls_x509_crt_parse_der "
                                        "<- mbedtls_x509_crt_parse");
    EXPECT_EQ(caller_chain(info, 99, 3), "");
}

// A profile walks the trace twice beside each other, the models' figures
// on a second thread: what the JSON report carries is one walk's, on every
// committed trace, unbounded and in a heap of 48,000 bytes (heap verdicts,
// the cycles' heap figures).
TEST(ProfileReport, TwoWalksBesideEachOtherReportWhatOneWalkDoes) {
    for (const std::string& name : replay::sample_traces()) {
        const std::string path = replay::path_of(name);
        const replay::SourceFactory open = [path] {
            return std::make_unique<replay::TraceFileSource>(path);
        };
        for (const std::optional<std::uint64_t> pool :
             {std::optional<std::uint64_t>{}, std::optional<std::uint64_t>{48000}}) {
            replay::ReplayOptions options;
            for (const replay::ModelInfo& m : replay::model_catalog()) {
                options.models.push_back(replay::ModelSpec::parse(m.name));
            }
            options.pool_size = pool;
            RunDescription run;
            run.trace_path = path;
            const nlohmann::json one =
                profile_json(run, replay::profile_trace(open, options, replay::Walks::One));
            const nlohmann::json two = profile_json(
                run, replay::profile_trace(open, options, replay::Walks::TwoBesideEachOther));
            EXPECT_EQ(one.dump(), two.dump()) << name << (pool ? " in a heap" : "");
        }
    }
}

} // namespace
} // namespace tlsheap::report
