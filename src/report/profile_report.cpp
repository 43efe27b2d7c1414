#include "report/profile_report.h"

#include "tlsheap/number_format.h"
#include "tlsheap/trace_meta.h"

#include <algorithm>
#include <fmt/format.h>

namespace tlsheap::report {

using replay::Moment;
using replay::ReplayResult;
using trace::Phase;

namespace {

const char* outcome_kind(trace::OutcomeKind k) {
    switch (k) {
    case trace::OutcomeKind::Handshake:
        return "handshake";
    case trace::OutcomeKind::Application:
        return "application";
    case trace::OutcomeKind::Close:
        return "close";
    case trace::OutcomeKind::Failure:
        return "failure";
    }
    return "?";
}

const char* finding_kind(replay::Finding::Kind k) {
    switch (k) {
    case replay::Finding::Kind::UnknownFree:
        return "unknown_free";
    case replay::Finding::Kind::DoubleFree:
        return "double_free";
    case replay::Finding::Kind::FailedAllocation:
        return "failed_allocation";
    case replay::Finding::Kind::ZeroSizeAllocation:
        return "zero_size_allocation";
    }
    return "?";
}

std::string where(const trace::TraceInfo& info, const Moment& m) {
    std::string s = trace::phase_name(m.phase);
    if (m.phase == Phase::Handshake) {
        s = info.state_name(m.state) + " (HANDSHAKE)";
    }
    return s;
}

std::string percent(double v) {
    return fmt::format("{:.1f}%", v * 100.0);
}

double fragmentation(std::uint64_t footprint, std::uint64_t live) {
    return live == 0 ? 0.0 : static_cast<double>(footprint) / static_cast<double>(live) - 1.0;
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

std::string role_label(trace::Role r) {
    return trace::role_name(r);
}

} // namespace

std::string caller_chain(const trace::TraceInfo& info, std::uint32_t stack, unsigned depth) {
    const trace::CallSite site = info.call_site(stack);
    std::vector<std::string> names;
    bool found = false;
    if (const auto* frames = info.stack(stack)) {
        for (const std::uint64_t address : *frames) {
            const auto* levels = info.frame(address);
            if (levels == nullptr) {
                continue;
            }
            for (const trace::SourceLevel& level : *levels) {
                if (!found) {
                    found = level.function == site.function;
                    if (found) {
                        names.push_back(level.function);
                    }
                    continue;
                }
                if (!level.in_mbedtls || level.function.empty()) {
                    continue;
                }
                if (names.back() != level.function) {
                    names.push_back(level.function);
                }
                if (names.size() > depth) {
                    break;
                }
            }
            if (names.size() > depth) {
                break;
            }
        }
    }
    // The callers only: the call site itself is named next to the chain.
    std::string chain;
    for (std::size_t i = 1; i < names.size(); ++i) {
        chain += (chain.empty() ? "" : " <- ") + names[i];
    }
    return chain;
}

void print_profile(std::FILE* out, const RunDescription& run, const ReplayResult& r,
                   const ReportOptions& options) {
    const trace::TraceInfo& info = r.info;
    auto line = [&](const std::string& s) { std::fputs((s + "\n").c_str(), out); };

    line(fmt::format("tlsheap {}: scenario {}, {} side, peer: {}", run.command, run.scenario,
                     run.side, run.peer));
    line(fmt::format("  mbedTLS {} [{}], ABI {} ({}, {}-byte pointers)", run.mbedtls_version,
                     run.mbedtls_origin, run.abi, info.meta(trace::meta::kArch),
                     info.pointer_size()));
    line(fmt::format("  config: {}", run.config_label));
    if (!run.effective_config.empty()) {
        line(fmt::format("  effective config: {}", run.effective_config));
    }
    line(fmt::format("  build: {} (variant {}), {} files compiled{}",
                     run.build_cached ? "cached" : "built", run.variant_key.substr(0, 12),
                     run.compiled_files,
                     run.build_cached ? "" : fmt::format(" in {:.1f} s", run.build_seconds)));
    line(fmt::format("  trace: {} ({} events, {} bytes{})", run.trace_path, grouped(r.events),
                     grouped(run.trace_bytes), r.complete ? ", complete" : ", TRUNCATED"));
    for (const replay::Outcome& o : r.outcomes) {
        if (o.kind == trace::OutcomeKind::Handshake) {
            line(fmt::format("  handshake: {} ({} steps)", o.text, [&] {
                std::uint64_t steps = 0;
                for (const auto& s : r.states) {
                    steps += s.steps;
                }
                return steps;
            }()));
        } else if (o.kind == trace::OutcomeKind::Application) {
            line(fmt::format("  application data: {}", o.text));
        } else if (o.kind == trace::OutcomeKind::Failure) {
            line(fmt::format("  FAILED in {}: {}", info.state_name(o.state), o.text));
        }
    }
    if (r.truncated) {
        line("  warning: " + r.truncation_message);
    }
    for (const std::string& w : run.warnings) {
        line("  warning: " + w);
    }
    line("");

    line(fmt::format(
        "Allocations     {} allocations, {} frees ({} of NULL), {} bytes requested in total",
        grouped(r.allocs), grouped(r.frees), grouped(r.null_frees), grouped(r.bytes_allocated)));
    if (r.failed_allocs > 0) {
        line(fmt::format("                {} allocations returned NULL", grouped(r.failed_allocs)));
    }
    line(fmt::format("Live peak       {} bytes in {}, event {}", grouped(r.live_peak.bytes),
                     where(info, r.live_peak.at), grouped(r.live_peak.at.seq)));
    if (r.live_peak.at.stack != 0) {
        line(fmt::format("                reached by {}",
                         info.call_site(r.live_peak.at.stack).label()));
        const std::string chain = caller_chain(info, r.live_peak.at.stack, 4);
        if (!chain.empty()) {
            line(fmt::format("                called from {}", chain));
        }
    }
    if (r.live_after_handshake) {
        line(fmt::format(
            "Steady state    {} bytes live after the handshake; {} at most during application data",
            grouped(*r.live_after_handshake), grouped(r.application_peak)));
    }
    if (r.record_buffers.empty()) {
        line("Record buffers  (none identified)");
    }
    for (const replay::BufferRole& b : r.record_buffers) {
        line(fmt::format("Record buffer   {} {} bytes, allocated in {} by {}", role_label(b.role),
                         grouped(b.block.size), where(info, b.block.at),
                         info.call_site(b.block.at.stack).function));
    }
    line(fmt::format(
        "TLS records     sent {} ({} bytes, largest {}), received {} ({} bytes, largest {})",
        r.records.count[0], grouped(r.records.bytes[0]), grouped(r.records.largest[0]),
        r.records.count[1], grouped(r.records.bytes[1]), grouped(r.records.largest[1])));
    line("");

    line("Peak by phase");
    line(fmt::format("  {:<12} {:>12} {:>8} {:>8} {:>16} {:>12}", "phase", "peak bytes", "allocs",
                     "frees", "bytes allocated", "live at end"));
    for (unsigned p = 0; p < trace::kPhaseCount; ++p) {
        const replay::PhaseFigures& f = r.phases[p];
        if (!f.seen) {
            continue;
        }
        line(fmt::format("  {:<12} {:>12} {:>8} {:>8} {:>16} {:>12}",
                         trace::phase_name(static_cast<Phase>(p)), grouped(f.peak.bytes),
                         grouped(f.allocs), grouped(f.frees), grouped(f.bytes_allocated),
                         grouped(f.live_at_end)));
    }
    line("");
    if (!r.states.empty()) {
        line("Peak by handshake state (in the order stepped)");
        line(fmt::format("  {:<36} {:>12} {:>8} {:>8} {:>16}", "state", "peak bytes", "allocs",
                         "frees", "bytes allocated"));
        for (const replay::StateFigures& s : r.states) {
            line(fmt::format("  {:<36} {:>12} {:>8} {:>8} {:>16}", info.state_name(s.state),
                             grouped(s.peak.bytes), grouped(s.allocs), grouped(s.frees),
                             grouped(s.bytes_allocated)));
        }
        line("");
    }
    line(fmt::format("Alive at the live peak, by call site (top {} of {})",
                     std::min<std::size_t>(options.top_sites, r.alive_at_peak.size()),
                     r.alive_at_peak.size()));
    line(fmt::format("  {:>10} {:>7}  {}", "bytes", "blocks", "call site (<- its callers)"));
    for (std::size_t i = 0; i < r.alive_at_peak.size() && i < options.top_sites; ++i) {
        const replay::SiteBytes& s = r.alive_at_peak[i];
        line(fmt::format("  {:>10} {:>7}  {}", grouped(s.bytes), grouped(s.blocks), s.site));
        const std::string chain = caller_chain(info, s.stack, 3);
        if (!chain.empty()) {
            line(fmt::format("  {:>10} {:>7}    <- {}", "", "", chain));
        }
    }
    line("");
    if (options.show_models && !r.models.empty()) {
        line("Replayed through allocator models");
        line(fmt::format("  {:<16} {:>11} {:>10} {:>9} {:>11} {:>13}  {}", "model", "footprint",
                         "overhead", "frag.", "min pool", "steady state", "footprint reached in"));
        for (const replay::ModelRun& m : r.models) {
            const auto found = r.min_pools.find(m.name);
            const std::string min_pool = found == r.min_pools.end() ? "-" : grouped(found->second);
            line(fmt::format(
                "  {:<16} {:>11} {:>10} {:>9} {:>11} {:>13}  {}", m.name, grouped(m.footprint),
                grouped(m.footprint >= r.live_peak.bytes ? m.footprint - r.live_peak.bytes : 0),
                percent(fragmentation(m.footprint, r.live_peak.bytes)), min_pool,
                m.used_after_handshake ? grouped(*m.used_after_handshake) : "-",
                where(info, m.footprint_raised)));
        }
        for (const replay::ModelRun& m : r.models) {
            line(fmt::format("  {}: {}", m.name, m.description));
            for (const auto& [name, value] : m.statistics) {
                line(fmt::format("      {} = {}", name, grouped(value)));
            }
            if (m.failure_count > 0 && !m.failures.empty()) {
                const replay::ModelFailure& f = m.failures.front();
                line(fmt::format("      {} allocations fail in a {}-byte pool; first: event {}, {} "
                                 "bytes in {} by {} (the handshake would see NULL)",
                                 m.failure_count, grouped(m.pool_size.value_or(0)), f.at.seq,
                                 grouped(f.size), where(info, f.at),
                                 info.call_site(f.at.stack).label()));
            }
            if (!m.invariant_violation.empty()) {
                line("      MODEL INVARIANT VIOLATED " + m.invariant_violation);
            }
            if (m.compared_with_real_pool) {
                line(fmt::format(
                    "      against the real memory_buffer_alloc of this recording: {} of {} "
                    "allocations at the same offset{}",
                    grouped(m.real_pool_matches),
                    grouped(m.real_pool_matches + m.real_pool_mismatches),
                    m.first_mismatch.empty() ? "" : "; first difference at " + m.first_mismatch));
            }
        }
        line("");
    }
    if (!r.pool_stats.empty()) {
        line(fmt::format(
            "Real memory_buffer_alloc   pool {} bytes, header {}: max_used {}, max_blocks {}",
            grouped(r.pool_stats[0]), r.pool_stats[1], grouped(r.pool_stats[2]),
            grouped(r.pool_stats[3])));
    }
    if (!r.teardown_reached) {
        line("Leaks           unknown: the recording did not reach TEARDOWN");
    } else if (r.leaks.empty()) {
        line("Leaks           none: every allocation was freed by the end of TEARDOWN");
    } else {
        line(fmt::format("Leaks           {} blocks, {} bytes still allocated after TEARDOWN",
                         r.leaks.size(), grouped(r.leaked_bytes)));
        for (std::size_t i = 0; i < r.leaks.size() && i < 10; ++i) {
            const replay::Block& b = r.leaks[i];
            line(fmt::format("  {:>10} bytes  event {}  {}  {}", grouped(b.size), b.seq,
                             where(info, b.at), info.call_site(b.at.stack).label()));
        }
    }
    for (const replay::Finding& f : r.findings) {
        if (f.kind == replay::Finding::Kind::FailedAllocation) {
            continue;
        }
        line(fmt::format("Finding         {} at event {} in {}: {}", finding_kind(f.kind), f.at.seq,
                         where(info, f.at), info.call_site(f.at.stack).label()));
    }
}

void print_abi_comparison(std::FILE* out, const std::vector<AbiColumn>& columns) {
    auto line = [&](const std::string& s) { std::fputs((s + "\n").c_str(), out); };
    if (columns.empty()) {
        return;
    }
    const RunDescription& first = *columns.front().run;
    line(fmt::format("tlsheap profile: scenario {}, {} side, peer: {}, mbedTLS {}", first.scenario,
                     first.side, first.peer, first.mbedtls_version));
    line(fmt::format("  config: {}", first.config_label));
    line("");
    auto row = [&](const std::string& label, auto cell) {
        std::string text = fmt::format("  {:<34}", label);
        for (const AbiColumn& c : columns) {
            text += fmt::format(" {:>16}", cell(c));
        }
        line(text);
    };
    row("ABI", [](const AbiColumn& c) { return c.run->abi; });
    row("architecture, pointer size", [](const AbiColumn& c) {
        return fmt::format("{} {}", c.result->info.meta(trace::meta::kArch),
                           c.result->info.pointer_size());
    });
    row("handshake", [](const AbiColumn& c) {
        const replay::Outcome* o = c.result->handshake_outcome();
        return o ? o->text.substr(0, o->text.find(' ')) : std::string("FAILED");
    });
    row("allocations", [](const AbiColumn& c) { return grouped(c.result->allocs); });
    row("live peak (bytes)", [](const AbiColumn& c) { return grouped(c.result->live_peak.bytes); });
    row("  reached in",
        [](const AbiColumn& c) { return c.result->info.state_name(c.result->live_peak.at.state); });
    row("steady state after handshake", [](const AbiColumn& c) {
        return c.result->live_after_handshake ? grouped(*c.result->live_after_handshake)
                                              : std::string("-");
    });
    for (const trace::Role role : {trace::Role::InBuffer, trace::Role::OutBuffer}) {
        row(std::string(trace::role_name(role)) + " (bytes)", [role](const AbiColumn& c) {
            for (const replay::BufferRole& b : c.result->record_buffers) {
                if (b.role == role) {
                    return grouped(b.block.size);
                }
            }
            return std::string("-");
        });
    }
    const replay::ReplayResult& base = *columns.front().result;
    for (std::size_t m = 0; m < base.models.size(); ++m) {
        const std::string name = base.models[m].name;
        row(name + " footprint", [m](const AbiColumn& c) {
            return m < c.result->models.size() ? grouped(c.result->models[m].footprint)
                                               : std::string("-");
        });
        row(name + " min pool", [name](const AbiColumn& c) {
            const auto it = c.result->min_pools.find(name);
            return it == c.result->min_pools.end() ? std::string("-") : grouped(it->second);
        });
    }
    row("leaks (bytes)", [](const AbiColumn& c) { return grouped(c.result->leaked_bytes); });
    line("");
    for (const AbiColumn& c : columns) {
        line(fmt::format("  {}: trace {} ({} events{}); build {}", c.run->abi, c.run->trace_path,
                         grouped(c.result->events), c.result->complete ? "" : ", TRUNCATED",
                         c.run->build_cached
                             ? "cached"
                             : fmt::format("{} files compiled", c.run->compiled_files)));
        for (const std::string& w : c.run->warnings) {
            line("  warning: " + w);
        }
        if (const replay::Outcome* f = c.result->failure()) {
            line(fmt::format("  {}: FAILED in {}: {}", c.run->abi,
                             c.result->info.state_name(f->state), f->text));
        }
    }
}

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
                    {"recorder", run.recorder},
                    {"build",
                     {{"cached", run.build_cached},
                      {"compiled_files", run.compiled_files},
                      {"seconds", run.build_seconds}}},
                    {"buffer_sizes",
                     {{"in_content_len", info.meta(trace::meta::kSslInContentLen)},
                      {"out_content_len", info.meta(trace::meta::kSslOutContentLen)},
                      {"in_buffer_len", info.meta(trace::meta::kSslInBufferLen)},
                      {"out_buffer_len", info.meta(trace::meta::kSslOutBufferLen)}}},
                    {"effective_macros", config}};
    json outcomes = json::array();
    for (const replay::Outcome& o : r.outcomes) {
        outcomes.push_back({{"kind", outcome_kind(o.kind)},
                            {"ret", o.ret},
                            {"state", info.state_name(o.state)},
                            {"text", o.text}});
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
    }
    j["states"] = states;
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
    j["steady_state"] = {{"live_after_handshake",
                          r.live_after_handshake ? json(*r.live_after_handshake) : json(nullptr)},
                         {"application_peak", r.application_peak}};
    json buffers = json::array();
    for (const replay::BufferRole& b : r.record_buffers) {
        buffers.push_back({{"role", role_label(b.role)},
                           {"bytes", b.block.size},
                           {"seq", b.block.seq},
                           {"at", moment_json(info, b.block.at)}});
    }
    j["record_buffers"] = buffers;
    j["tls_records"] = {{"sent",
                         {{"count", r.records.count[0]},
                          {"bytes", r.records.bytes[0]},
                          {"largest", r.records.largest[0]}}},
                        {"received",
                         {{"count", r.records.count[1]},
                          {"bytes", r.records.bytes[1]},
                          {"largest", r.records.largest[1]}}}};
    json leaks = json::array();
    for (const replay::Block& b : r.leaks) {
        leaks.push_back({{"seq", b.seq}, {"bytes", b.size}, {"at", moment_json(info, b.at)}});
    }
    j["leaks"] = {
        {"teardown_reached", r.teardown_reached}, {"bytes", r.leaked_bytes}, {"blocks", leaks}};
    json findings = json::array();
    for (const replay::Finding& f : r.findings) {
        findings.push_back({{"kind", finding_kind(f.kind)},
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
        models.push_back(
            {{"name", m.name},
             {"description", m.description},
             {"pool_size", m.pool_size ? json(*m.pool_size) : json(nullptr)},
             {"footprint", m.footprint},
             {"footprint_reached", moment_json(info, m.footprint_raised)},
             {"live_peak", r.live_peak.bytes},
             {"overhead", m.footprint >= r.live_peak.bytes ? m.footprint - r.live_peak.bytes : 0},
             {"fragmentation", fragmentation(m.footprint, r.live_peak.bytes)},
             {"fragmentation_at_live_peak",
              fragmentation(m.footprint_at_live_peak, r.live_peak.bytes)},
             {"free_at_footprint_peak", m.free_at_footprint_peak},
             {"largest_free_at_footprint_peak", m.largest_free_at_footprint_peak},
             {"used_peak", m.used_peak.bytes},
             {"used_after_handshake",
              m.used_after_handshake ? json(*m.used_after_handshake) : json(nullptr)},
             // The searched minimum (find_min_pools), not the one-pass bound.
             {"min_pool",
              r.min_pools.count(m.name) != 0 ? json(r.min_pools.at(m.name)) : json(nullptr)},
             {"phases", phase_used},
             {"states", state_used},
             {"failure_count", m.failure_count},
             {"failures", failures},
             {"statistics", stats},
             {"invariant_violation", m.invariant_violation},
             {"real_pool_comparison", m.compared_with_real_pool
                                          ? json{{"matches", m.real_pool_matches},
                                                 {"mismatches", m.real_pool_mismatches},
                                                 {"first_mismatch", m.first_mismatch}}
                                          : json(nullptr)}});
    }
    j["models"] = models;
    if (!r.pool_stats.empty()) {
        j["real_pool"] = {{"pool_size", r.pool_stats[0]}, {"header_size", r.pool_stats[1]},
                          {"max_used", r.pool_stats[2]},  {"max_blocks", r.pool_stats[3]},
                          {"cur_used", r.pool_stats[4]},  {"cur_blocks", r.pool_stats[5]}};
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
