#include "report/terminal_profile.h"

#include "report/caller_chain.h"
#include "report/connection_costs_table.h"
#include "report/cycle_table_text.h"
#include "report/heap_verdict_text.h"
#include "report/lines_by_connection.h"
#include "report/model_overhead.h"
#include "report/result_kind_names.h"
#include "report/resumption_report.h"
#include "tlsheap/number_format.h"
#include "tlsheap/trace_meta.h"

#include <algorithm>
#include <fmt/format.h>

namespace tlsheap::report {

using replay::Moment;
using replay::ReplayResult;
using trace::Phase;

namespace {

// A failed recording's min pools are bounds (ReplayResult::min_pool_bounds).
std::string min_pool_text(const replay::ReplayResult& r, const std::string& model) {
    const auto found = r.min_pools.find(model);
    if (found == r.min_pools.end()) {
        return "-";
    }
    const auto bound = r.min_pool_bounds.find(model);
    if (bound == r.min_pool_bounds.end()) {
        return grouped(found->second);
    }
    return (bound->second == replay::ReplayResult::MinPoolBound::MoreThan ? "> " : ">= ") +
           grouped(found->second);
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

// "Heap of N bytes": one verdict per model replayed on a heap of fixed size.
void print_heap_verdicts(std::FILE* out, const ReplayResult& r) {
    const replay::HeapVerdict* any = nullptr;
    for (const replay::ModelRun& m : r.models) {
        if (m.heap) {
            any = &*m.heap;
        }
    }
    if (any == nullptr) {
        return;
    }
    std::fputs(fmt::format("Heap of {} bytes\n", grouped(any->heap_size)).c_str(), out);
    for (const replay::ModelRun& m : r.models) {
        if (m.heap) {
            std::fputs(
                fmt::format("  {:<16} {}\n", m.name, heap_verdict_text(r.info, *m.heap)).c_str(),
                out);
        }
    }
    std::fputs("\n", out);
}

// The painted stack's figures and the RAM budget they make with the heap.
template <typename Line>
void print_stack(const trace::TraceInfo& info, const replay::ReplayResult& r, Line& line) {
    const replay::StackFigures& st = *r.stack;
    const std::string at = st.in_step ? info.state_name(st.state) + " (HANDSHAKE)"
                                      : std::string(trace::phase_name(st.phase));
    line(fmt::format("Stack           {} bytes below the recorder's call into mbedTLS, deepest in "
                     "{}, connection {}",
                     grouped(st.below_call), at, st.connection));
    line(fmt::format("                (painted stack of {} bytes; {} from its top, the "
                     "recorder's own frames included)",
                     grouped(st.painted), grouped(st.deepest)));
    std::string budget =
        fmt::format("heap + stack = {} + {} = {} bytes (live peak)", grouped(r.live_peak.bytes),
                    grouped(st.below_call), grouped(r.live_peak.bytes + st.below_call));
    for (const auto& [model, pool] : r.min_pools) {
        if (!r.min_pool_bounds.contains(model)) {
            budget += fmt::format("; {} + {} = {} ({} min pool)", grouped(pool),
                                  grouped(st.below_call), grouped(pool + st.below_call), model);
        }
    }
    line("RAM budget      " + budget);
    line("");
}

// "DTLS records    retransmitted: sent 2 (130 bytes); dropped: received 1 (60
// bytes); fragments: received 3", the parts that are not zero; "" if none is.
std::string datagram_line(const replay::TlsRecordSummary& s) {
    if (!s.datagram) {
        return {};
    }
    auto per_direction = [](const std::uint64_t(&records)[2], const std::uint64_t* bytes) {
        std::string text;
        for (unsigned d = 0; d < 2; ++d) {
            if (records[d] == 0) {
                continue;
            }
            text += fmt::format("{}{} {}", text.empty() ? "" : ", ", d == 0 ? "sent" : "received",
                                grouped(records[d]));
            if (bytes != nullptr) {
                text += fmt::format(" ({} bytes)", grouped(bytes[d]));
            }
        }
        return text;
    };
    std::string parts;
    for (const auto& [name, text] :
         {std::pair{"retransmitted", per_direction(s.retransmitted, s.retransmitted_bytes)},
          std::pair{"dropped", per_direction(s.dropped, s.dropped_bytes)},
          std::pair{"fragments", per_direction(s.fragments, nullptr)}}) {
        if (!text.empty()) {
            parts += fmt::format("{}{}: {}", parts.empty() ? "" : "; ", name, text);
        }
    }
    return parts.empty() ? std::string() : "DTLS records    " + parts;
}

} // namespace

void print_profile(std::FILE* out, const RunDescription& run, const ReplayResult& r,
                   const ReportOptions& options) {
    const trace::TraceInfo& info = r.info;
    auto line = [&](const std::string& s) { std::fputs((s + "\n").c_str(), out); };

    if (!run.program.empty()) {
        line(fmt::format("tlsheap {}: program {}, {} side", run.command, run.program, run.side));
    } else {
        line(fmt::format("tlsheap {}: scenario {}, {} side, peer: {}", run.command, run.scenario,
                         run.side, run.peer));
    }
    line(fmt::format("  mbedTLS {} [{}], ABI {} ({}, {}-byte pointers)", run.mbedtls_version,
                     run.mbedtls_origin, run.abi, info.meta(trace::meta::kArch),
                     info.pointer_size()));
    if (!run.config_label.empty() || run.program.empty()) {
        line(fmt::format("  config: {}", run.config_label));
    }
    if (!run.effective_config.empty()) {
        line(fmt::format("  effective config: {}", run.effective_config));
    }
    line(fmt::format("  build: {} (variant {}{}), {} files compiled{}{}",
                     run.build_cached ? "cached" : "built", run.variant_key.substr(0, 12),
                     run.recorder_key.empty() ? "" : ", recorder " + run.recorder_key.substr(0, 12),
                     run.compiled_files,
                     run.reused_objects == 0
                         ? ""
                         : fmt::format(", {} objects from the object cache", run.reused_objects),
                     run.build_cached ? "" : fmt::format(" in {:.1f} s", run.build_seconds)));
    line(fmt::format("  trace: {} ({} events, {} bytes{})", run.trace_path, grouped(r.events),
                     grouped(run.trace_bytes), r.complete ? ", complete" : ", TRUNCATED"));
    LinesByConnection outcomes;
    for (const replay::Outcome& o : r.outcomes) {
        if (o.kind == trace::OutcomeKind::Handshake) {
            outcomes.add(fmt::format("  handshake: {} ({} steps)", o.text, o.steps), o.connection);
        } else if (o.kind == trace::OutcomeKind::Application) {
            outcomes.add(fmt::format("  application data: {}", o.text), o.connection);
        } else if (o.kind == trace::OutcomeKind::Failure) {
            outcomes.add(fmt::format("  FAILED in {}: {}", info.state_name(o.state), o.text),
                         o.connection);
        }
    }
    for (const std::string& l : outcomes.lines()) {
        line(l);
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
    LinesByConnection buffers;
    for (const replay::BufferRole& b : r.record_buffers) {
        buffers.add(fmt::format("Record buffer   {} {} bytes, allocated in {} by {}",
                                trace::role_name(b.role), grouped(b.block.size),
                                where(info, b.block.at), info.call_site(b.block.at.stack).function),
                    b.block.at.connection);
    }
    for (const std::string& l : buffers.lines()) {
        line(l);
    }
    if (!run.program.empty() && r.records.count[0] + r.records.count[1] == 0) {
        // Only the driver's transport sees records go by.
        line("TLS records     (not observed in a program's own transport)");
    } else {
        line(fmt::format(
            "TLS records     sent {} ({} bytes, largest {}), received {} ({} bytes, largest {})",
            r.records.count[0], grouped(r.records.bytes[0]), grouped(r.records.largest[0]),
            r.records.count[1], grouped(r.records.bytes[1]), grouped(r.records.largest[1])));
    }
    if (const std::string dtls = datagram_line(r.records); !dtls.empty()) {
        line(dtls);
    }
    line("");

    if (r.stack) {
        print_stack(info, r, line);
    }
    // With a painted stack, a stack column next to the heap's.
    auto stack_column = [&](std::uint64_t bytes) {
        return r.stack ? fmt::format(" {:>8}", bytes > 0 ? grouped(bytes) : "-") : std::string();
    };
    const std::string stack_header = r.stack ? fmt::format(" {:>8}", "stack") : std::string();
    line("Peak by phase");
    line(fmt::format("  {:<12} {:>12} {:>8} {:>8} {:>16} {:>12}{}", "phase", "peak bytes", "allocs",
                     "frees", "bytes allocated", "live at end", stack_header));
    for (unsigned p = 0; p < trace::kPhaseCount; ++p) {
        const replay::PhaseFigures& f = r.phases[p];
        if (!f.seen) {
            continue;
        }
        line(fmt::format("  {:<12} {:>12} {:>8} {:>8} {:>16} {:>12}{}",
                         trace::phase_name(static_cast<Phase>(p)), grouped(f.peak.bytes),
                         grouped(f.allocs), grouped(f.frees), grouped(f.bytes_allocated),
                         grouped(f.live_at_end), stack_column(f.stack)));
    }
    line("");
    if (!r.states.empty()) {
        line("Peak by handshake state (in the order stepped)");
        line(fmt::format("  {:<36} {:>12} {:>8} {:>8} {:>16}{}", "state", "peak bytes", "allocs",
                         "frees", "bytes allocated", stack_header));
        for (const replay::StateFigures& s : r.states) {
            line(fmt::format("  {:<36} {:>12} {:>8} {:>8} {:>16}{}", info.state_name(s.state),
                             grouped(s.peak.bytes), grouped(s.allocs), grouped(s.frees),
                             grouped(s.bytes_allocated), stack_column(s.stack)));
        }
        line("");
    }
    if (r.resumption) {
        print_resumption(*r.resumption, options.top_sites, line);
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
            const std::string min_pool = min_pool_text(r, m.name);
            if (m.failure_count > 0) {
                // Allocations failed: footprint, fragmentation and steady state
                // describe a run that did not happen.
                line(fmt::format("  {:<16} does not fit: the recording needs more than the {}-byte "
                                 "heap ({} allocations fail); min pool {}",
                                 m.name, grouped(m.pool_size.value_or(0)), grouped(m.failure_count),
                                 min_pool));
                continue;
            }
            line(fmt::format("  {:<16} {:>11} {:>10} {:>9} {:>11} {:>13}  {}", m.name,
                             grouped(m.footprint),
                             grouped(overhead(m.footprint, r.live_peak.bytes)),
                             percent(fragmentation(m.footprint, r.live_peak.bytes)), min_pool,
                             m.used_after_handshake ? grouped(*m.used_after_handshake) : "-",
                             where(info, m.footprint_raised)));
        }
        if (!r.min_pool_bounds.empty()) {
            line("  min pools are bounds: the recording failed part-way (>= what the run up to "
                 "the failure needs; > the real pool it failed in)");
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
                                 grouped(m.failure_count), grouped(m.pool_size.value_or(0)),
                                 f.at.seq, grouped(f.size), where(info, f.at),
                                 info.call_site(f.at.stack).label()));
            }
            if (!m.invariant_violation.empty()) {
                line("      MODEL INVARIANT VIOLATED " + m.invariant_violation);
            }
            if (m.compared_with_real_pool) {
                line(fmt::format(
                    "      against the real memory_buffer_alloc of this recording (the model in "
                    "its {}-byte pool): {} of {} allocations at the same offset{}",
                    grouped(m.real_pool_size), grouped(m.real_pool_matches),
                    grouped(m.real_pool_matches + m.real_pool_mismatches),
                    m.first_mismatch.empty() ? "" : "; first difference at " + m.first_mismatch));
            }
        }
        line("");
        print_heap_verdicts(out, r);
    }
    print_connection_costs(out, r);
    print_cycle_table(out, r);
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
        line(fmt::format("Finding         {} at event {} in {}: {}", finding_kind_name(f.kind),
                         f.at.seq, where(info, f.at), info.call_site(f.at.stack).label()));
    }
}

} // namespace tlsheap::report
