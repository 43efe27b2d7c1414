#include "report/profile_json.h"

#include "report/caller_chain.h"
#include "report/connection_costs_json.h"
#include "report/heap_verdict_text.h"
#include "report/model_overhead.h"
#include "report/result_kind_names.h"
#include "report/resumption_report.h"
#include "tlsheap/trace_meta.h"

namespace tlsheap::report {

using replay::Moment;
using replay::ReplayResult;
using trace::Phase;

namespace {

const char* min_pool_bound_name(const replay::ReplayResult& r, const std::string& model) {
    const auto found = r.min_pool_bounds.find(model);
    if (found == r.min_pool_bounds.end()) {
        return "exact";
    }
    return found->second == replay::ReplayResult::MinPoolBound::MoreThan ? "more_than" : "at_least";
}

nlohmann::json moment_json(const trace::TraceInfo& info, const Moment& m) {
    nlohmann::json j = {{"seq", m.seq},
                        {"time_ns", m.time_ns},
                        {"phase", trace::phase_name(m.phase)},
                        {"state", info.state_name(m.state)}};
    if (m.stack != 0) {
        j["call_site"] = info.call_site(m.stack).label();
        j["stack"] = info.describe_stack(m.stack);
    }
    return j;
}

nlohmann::json heap_figures_json(const replay::HeapFigures& f) {
    return {{"free_bytes", f.free_bytes},
            {"largest_free_block", f.largest_free_block},
            {"largest_request", f.largest_request}};
}

nlohmann::json heap_moment_json(const trace::TraceInfo& info,
                                const std::optional<replay::HeapMoment>& h) {
    if (!h) {
        return nullptr;
    }
    nlohmann::json j = heap_figures_json(h->figures);
    j["allocation"] = h->allocation;
    j["size"] = h->size;
    j["connection"] = h->at.connection;
    j["at"] = moment_json(info, h->at);
    return j;
}

nlohmann::json heap_verdict_json(const trace::TraceInfo& info, const replay::HeapVerdict& v) {
    return {{"heap_size", v.heap_size},
            {"figures_source", v.figures_source},
            {"fits", v.fits()},
            {"fragmentation", v.fragmentation()},
            {"verdict", heap_verdict_text(info, v)},
            {"lowest_free", heap_moment_json(info, v.lowest_free)},
            {"smallest_largest_free_block", heap_moment_json(info, v.smallest_largest_free_block)},
            {"first_failure", heap_moment_json(info, v.first_failure)}};
}

nlohmann::json cycles_json(const replay::ReplayResult& r) {
    nlohmann::json rows = nlohmann::json::array();
    for (const replay::CycleRow& c : r.cycles) {
        nlohmann::json models = nlohmann::json::array();
        for (std::size_t i = 0; i < c.footprint.size() && i < r.models.size(); ++i) {
            nlohmann::json m = {{"name", r.models[i].name}, {"footprint", c.footprint[i]}};
            if (i < c.heap.size()) {
                m["heap"] = heap_figures_json(c.heap[i]);
            }
            models.push_back(m);
        }
        rows.push_back({{"cycle", c.cycle},
                        {"first_connection", c.first_connection},
                        {"connections", c.connections},
                        {"end_seq", c.end_seq},
                        {"live_at_end", c.live_at_end},
                        {"live_peak", c.live_peak},
                        {"leaked", c.leaked},
                        {"models", models}});
    }
    return rows;
}

} // namespace

nlohmann::json profile_json(const RunDescription& run, const ReplayResult& r,
                            const ReportOptions& options) {
    using nlohmann::json;
    const trace::TraceInfo& info = r.info;
    json j;
    j["schema_version"] = kProfileSchemaVersion;
    j["kind"] = "tlsheap.profile";
    j["tool"] = {{"name", "tlsheap"}, {"version", info.meta(trace::meta::kTlsheapVersion)}};
    j["run"] = {{"command", run.command},  {"scenario", run.scenario},
                {"side", run.side},        {"peer", run.peer},
                {"trace", run.trace_path}, {"trace_complete", r.complete},
                {"warnings", run.warnings}};
    if (!run.program.empty()) {
        j["run"]["program"] = run.program;
    }
    json config = json::object();
    for (const auto& [name, value] : info.config()) {
        config[name] = value;
    }
    j["variant"] = {{"mbedtls_version", run.mbedtls_version},
                    {"mbedtls_origin", run.mbedtls_origin},
                    {"abi", run.abi},
                    {"arch", info.meta(trace::meta::kArch)},
                    {"pointer_size", info.pointer_size()},
                    {"config", run.config_label},
                    {"config_name", run.config_name},
                    {"effective_config_file", run.effective_config},
                    {"recorder_overlay", run.overlay},
                    {"key", run.variant_key},
                    {"recorder_key", run.recorder_key},
                    {"recorder", run.recorder},
                    {"build",
                     {{"cached", run.build_cached},
                      {"compiled_files", run.compiled_files},
                      {"reused_objects", run.reused_objects},
                      {"compiled_sources", run.compiled_sources},
                      {"seconds", run.build_seconds}}},
                    {"buffer_sizes",
                     {{"in_content_len", info.meta(trace::meta::kSslInContentLen)},
                      {"out_content_len", info.meta(trace::meta::kSslOutContentLen)},
                      {"in_buffer_len", info.meta(trace::meta::kSslInBufferLen)},
                      {"out_buffer_len", info.meta(trace::meta::kSslOutBufferLen)}}},
                    {"effective_macros", config}};
    json outcomes = json::array();
    for (const replay::Outcome& o : r.outcomes) {
        outcomes.push_back({{"kind", outcome_kind_name(o.kind)},
                            {"ret", o.ret},
                            {"state", info.state_name(o.state)},
                            {"text", o.text},
                            {"connection", o.connection}});
    }
    j["outcomes"] = outcomes;
    j["summary"] = {{"events", r.events},
                    {"allocations", r.allocs},
                    {"frees", r.frees},
                    {"null_frees", r.null_frees},
                    {"failed_allocations", r.failed_allocs},
                    {"zero_size_allocations", r.zero_size_allocs},
                    {"bytes_allocated", r.bytes_allocated},
                    {"duration_ns", r.duration_ns}};
    j["live_peak"] = {{"bytes", r.live_peak.bytes}, {"at", moment_json(info, r.live_peak.at)}};
    json phases = json::array();
    for (unsigned p = 0; p < trace::kPhaseCount; ++p) {
        const replay::PhaseFigures& f = r.phases[p];
        if (!f.seen) {
            continue;
        }
        phases.push_back({{"phase", trace::phase_name(static_cast<Phase>(p))},
                          {"peak_bytes", f.peak.bytes},
                          {"allocations", f.allocs},
                          {"frees", f.frees},
                          {"bytes_allocated", f.bytes_allocated},
                          {"live_at_end", f.live_at_end}});
        if (r.stack) {
            phases.back()["stack_bytes"] = f.stack;
        }
    }
    j["phases"] = phases;
    json states = json::array();
    for (const replay::StateFigures& s : r.states) {
        states.push_back({{"state", info.state_name(s.state)},
                          {"peak_bytes", s.peak.bytes},
                          {"allocations", s.allocs},
                          {"frees", s.frees},
                          {"bytes_allocated", s.bytes_allocated},
                          {"steps", s.steps}});
        if (r.stack) {
            states.back()["stack_bytes"] = s.stack;
        }
    }
    j["states"] = states;
    if (r.stack) {
        const replay::StackFigures& st = *r.stack;
        json at = {{"phase", trace::phase_name(st.phase)}, {"connection", st.connection}};
        if (st.in_step) {
            at["state"] = info.state_name(st.state);
        }
        j["stack"] = {{"painted_bytes", st.painted},
                      {"below_call_bytes", st.below_call},
                      {"deepest_bytes", st.deepest},
                      {"at", at},
                      {"heap_plus_stack_bytes", r.live_peak.bytes + st.below_call}};
    }
    json sites = json::array();
    for (std::size_t i = 0; i < r.alive_at_peak.size(); ++i) {
        const replay::SiteBytes& s = r.alive_at_peak[i];
        json site = {{"call_site", s.site},
                     {"bytes", s.bytes},
                     {"blocks", s.blocks},
                     {"called_from", caller_chain(info, s.stack, 3)}};
        if (i < options.top_sites) {
            site["stack"] = info.describe_stack(s.stack);
        }
        sites.push_back(site);
    }
    j["alive_at_peak"] = sites;
    if (r.resumption) {
        j["resumption"] = resumption_json(*r.resumption);
    }
    j["steady_state"] = {{"live_after_handshake",
                          r.live_after_handshake ? json(*r.live_after_handshake) : json(nullptr)},
                         {"application_peak", r.application_peak}};
    json buffers = json::array();
    for (const replay::BufferRole& b : r.record_buffers) {
        buffers.push_back({{"role", trace::role_name(b.role)},
                           {"bytes", b.block.size},
                           {"seq", b.block.seq},
                           {"connection", b.block.at.connection},
                           {"at", moment_json(info, b.block.at)}});
    }
    j["record_buffers"] = buffers;
    auto record_counts = [&](unsigned d) {
        const replay::TlsRecordSummary& s = r.records;
        return json{{"count", s.count[d]},
                    {"bytes", s.bytes[d]},
                    {"largest", s.largest[d]},
                    {"retransmitted",
                     {{"records", s.retransmitted[d]}, {"bytes", s.retransmitted_bytes[d]}}},
                    {"dropped", {{"records", s.dropped[d]}, {"bytes", s.dropped_bytes[d]}}},
                    {"fragmented_messages", s.fragments[d]}};
    };
    j["tls_records"] = {{"transport", r.records.datagram ? "datagram" : "stream"},
                        {"sent", record_counts(0)},
                        {"received", record_counts(1)}};
    json leaks = json::array();
    for (const replay::Block& b : r.leaks) {
        leaks.push_back({{"seq", b.seq}, {"bytes", b.size}, {"at", moment_json(info, b.at)}});
    }
    j["leaks"] = {
        {"teardown_reached", r.teardown_reached}, {"bytes", r.leaked_bytes}, {"blocks", leaks}};
    json findings = json::array();
    for (const replay::Finding& f : r.findings) {
        findings.push_back({{"kind", finding_kind_name(f.kind)},
                            {"message", f.message},
                            {"size", f.size},
                            {"at", moment_json(info, f.at)}});
    }
    j["findings"] = findings;
    json models = json::array();
    for (const replay::ModelRun& m : r.models) {
        json stats = json::object();
        for (const auto& [name, value] : m.statistics) {
            stats[name] = value;
        }
        json failures = json::array();
        for (const replay::ModelFailure& f : m.failures) {
            failures.push_back({{"size", f.size}, {"at", moment_json(info, f.at)}});
        }
        json phase_used = json::array();
        for (unsigned p = 0; p < trace::kPhaseCount; ++p) {
            if (!r.phases[p].seen) {
                continue;
            }
            phase_used.push_back({{"phase", trace::phase_name(static_cast<Phase>(p))},
                                  {"used_peak", m.phase_used_peak[p].bytes},
                                  {"footprint_at_end", m.phase_footprint_end[p]}});
        }
        json state_used = json::array();
        for (const auto& [state, peak] : m.state_used_peak) {
            state_used.push_back({{"state", info.state_name(state)}, {"used_peak", peak.bytes}});
        }
        json model = {{"name", m.name},
                      {"description", m.description},
                      {"pool_size", m.pool_size ? json(*m.pool_size) : json(nullptr)},
                      {"footprint", m.footprint},
                      {"footprint_reached", moment_json(info, m.footprint_raised)},
                      {"live_peak", r.live_peak.bytes},
                      {"overhead", overhead(m.footprint, r.live_peak.bytes)},
                      {"fragmentation", fragmentation(m.footprint, r.live_peak.bytes)},
                      {"fragmentation_at_live_peak",
                       fragmentation(m.footprint_at_live_peak, r.live_peak.bytes)},
                      {"free_at_footprint_peak", m.free_at_footprint_peak},
                      {"largest_free_at_footprint_peak", m.largest_free_at_footprint_peak},
                      {"used_peak", m.used_peak.bytes},
                      {"used_after_handshake",
                       m.used_after_handshake ? json(*m.used_after_handshake) : json(nullptr)},
                      // The searched minimum (find_min_pools), not the one-pass bound.
                      {"min_pool", r.min_pools.count(m.name) != 0 ? json(r.min_pools.at(m.name))
                                                                  : json(nullptr)},
                      {"min_pool_bound", min_pool_bound_name(r, m.name)},
                      {"phases", phase_used},
                      {"states", state_used},
                      {"failure_count", m.failure_count},
                      {"failures", failures},
                      {"statistics", stats},
                      {"invariant_violation", m.invariant_violation},
                      {"real_pool_comparison", m.compared_with_real_pool
                                                   ? json{{"pool_size", m.real_pool_size},
                                                          {"matches", m.real_pool_matches},
                                                          {"mismatches", m.real_pool_mismatches},
                                                          {"first_mismatch", m.first_mismatch}}
                                                   : json(nullptr)}};
        if (m.heap) {
            model["heap"] = heap_verdict_json(info, *m.heap);
        }
        models.push_back(model);
    }
    j["models"] = models;
    // A trace of one connection has one cycle: the document stays as it was.
    if (r.cycles.size() > 1) {
        j["cycles"] = cycles_json(r);
    }
    if (!r.pool_stats.empty()) {
        j["real_pool"] = {{"pool_size", r.pool_stats[0]}, {"header_size", r.pool_stats[1]},
                          {"max_used", r.pool_stats[2]},  {"max_blocks", r.pool_stats[3]},
                          {"cur_used", r.pool_stats[4]},  {"cur_blocks", r.pool_stats[5]}};
    }
    if (r.connection_costs) {
        j["connection_costs"] = connection_costs_json(*r.connection_costs, r.models);
    }
    json series = json::array();
    for (const replay::SeriesPoint& p : r.series) {
        series.push_back({{"seq", p.seq},
                          {"live", p.live},
                          {"live_max", p.live_max},
                          {"footprint", p.footprint},
                          {"used_max", p.used_max}});
    }
    j["series"] = {{"models",
                    [&] {
                        json names = json::array();
                        for (const auto& m : r.models) {
                            names.push_back(m.name);
                        }
                        return names;
                    }()},
                   {"points", series}};
    return j;
}

} // namespace tlsheap::report
