#include "report/capacity_report.h"

#include "tlsheap/number_format.h"
#include "tlsheap/profile_document.h"
#include "tlsheap/trace_format.h"

#include <fmt/format.h>

namespace tlsheap::report {

using nlohmann::json;

std::string capacity_answer(const analysis::ModelCapacity& m) {
    return m.fails_next ? std::to_string(m.capacity) : fmt::format("at least {}", m.capacity);
}

void print_capacity(std::FILE* out, const CapacitySource& s, const analysis::CapacityResult& r) {
    auto line = [&](const std::string& text) { std::fputs((text + "\n").c_str(), out); };
    line(fmt::format("tlsheap capacity: scenario {}, {} side, heap of {} bytes", s.scenario, s.side,
                     grouped(r.heap)));
    line(fmt::format("  mbedTLS {}, ABI {}, config {}", s.mbedtls_version, s.abi, s.config));
    if (s.kind == "trace") {
        line(fmt::format("  streams: {} ({} connections, start {}) restricted to its first k "
                         "connections",
                         s.trace, s.trace_connections, s.start));
    } else {
        line(
            fmt::format("  streams: one recording per k with --connections k --start {}", s.start));
    }
    if (!s.app_heap.empty()) {
        line("  the application's blocks share the heap: " + s.app_heap);
    }
    line("");
    std::string header = fmt::format("  {:<11} {:>10}", "connections", "live peak");
    for (const analysis::ModelCapacity& m : r.models) {
        header += fmt::format("  {:>16}", m.name);
    }
    line(header + "   (footprint, or the failed allocations)");
    for (const analysis::CapacityStep& step : r.steps) {
        std::string row = fmt::format("  {:<11} {:>10}", step.connections, grouped(step.live_peak));
        for (std::size_t i = 0; i < step.footprint.size(); ++i) {
            row += fmt::format("  {:>16}", step.failures[i] == 0
                                               ? grouped(step.footprint[i])
                                               : "FAILS (" + grouped(step.failures[i]) + ")");
        }
        line(row);
    }
    line("");
    line(fmt::format("  {:<16} {:>12} {:>16}  {}", "model", "capacity", "footprint with C",
                     "with C + 1"));
    for (const analysis::ModelCapacity& m : r.models) {
        std::string next = "every stream tried fits";
        if (m.fails_next) {
            const analysis::CapacityFailure& f = *m.fails_next;
            next = fmt::format("allocation #{} fails: {} B for connection {} in {} by {}",
                               grouped(f.seq), grouped(f.size), f.connection,
                               f.phase == trace::phase_name(trace::Phase::Handshake)
                                   ? f.state + " (" + f.phase + ")"
                                   : f.phase,
                               f.call_site);
        }
        line(fmt::format("  {:<16} {:>12} {:>16}  {}", m.name, capacity_answer(m),
                         m.footprint ? grouped(*m.footprint) : "-", next));
    }
    for (const analysis::ModelCapacity& m : r.models) {
        if (m.fails_next && m.capacity == 0) {
            // The description says when the model refuses the heap itself
            // (umm beyond 32,768 blocks, which its 15-bit block numbers cannot address).
            line(fmt::format("  {}: not even one connection fits in {} bytes: {}", m.name,
                             grouped(r.heap), m.description));
        } else if (!m.fails_next) {
            line(fmt::format("  {}: all {} connections fit{}", m.name, r.most_tried,
                             s.kind == "trace"
                                 ? " (record with more --connections to know more)"
                                 : fmt::format(" (the recorder opens at most {})", r.most_tried)));
        }
    }
}

json capacity_json(const CapacitySource& s, const analysis::CapacityResult& r) {
    json steps = json::array();
    for (const analysis::CapacityStep& step : r.steps) {
        json models = json::array();
        for (std::size_t i = 0; i < step.footprint.size() && i < r.models.size(); ++i) {
            models.push_back({{"name", r.models[i].name},
                              {"fits", step.failures[i] == 0},
                              {"footprint", step.footprint[i]},
                              {"failure_count", step.failures[i]}});
        }
        steps.push_back(
            {{"connections", step.connections}, {"live_peak", step.live_peak}, {"models", models}});
    }
    json models = json::array();
    for (const analysis::ModelCapacity& m : r.models) {
        json next = nullptr;
        if (m.fails_next) {
            const analysis::CapacityFailure& f = *m.fails_next;
            next = {{"seq", f.seq},
                    {"size", f.size},
                    {"connection", f.connection},
                    {"phase", f.phase},
                    {"state", f.state},
                    {"call_site", f.call_site},
                    {"failure_count", f.failure_count}};
        }
        models.push_back({{"name", m.name},
                          {"description", m.description},
                          {"capacity", m.capacity},
                          {"at_least", !m.fails_next.has_value()},
                          {"footprint", m.footprint ? json(*m.footprint) : json(nullptr)},
                          {"fails_with_one_more", next}});
    }
    json source = {{"kind", s.kind},
                   {"scenario", s.scenario},
                   {"side", s.side},
                   {"abi", s.abi},
                   {"mbedtls_version", s.mbedtls_version},
                   {"config", s.config},
                   {"start", s.start}};
    if (s.kind == "trace") {
        source["trace"] = s.trace;
        source["trace_connections"] = s.trace_connections;
    }
    if (!s.app_heap.empty()) {
        source["app_heap"] = s.app_heap;
    }
    return {{"schema_version", kProfileSchemaVersion},
            {"kind", "tlsheap.capacity"},
            {"heap", r.heap},
            {"source", source},
            {"steps", steps},
            {"models", models}};
}

} // namespace tlsheap::report
