#include "report/allocation_failure_report.h"

#include "tlsheap/number_format.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <tuple>

namespace tlsheap::report {

namespace {

using analysis::ClassCounts;
using analysis::FailureClass;

constexpr std::size_t kSitesShown = 15;

constexpr FailureClass kClasses[] = {FailureClass::Clean,   FailureClass::Hidden,
                                     FailureClass::Success, FailureClass::Leak,
                                     FailureClass::Hang,    FailureClass::Crash};

const char* class_meaning(FailureClass c) {
    switch (c) {
    case FailureClass::Clean:
        return "an out-of-memory error, nothing leaked";
    case FailureClass::Hidden:
        return "another error: the caller cannot tell that memory ran out";
    case FailureClass::Success:
        return "completed anyway (a fallback path)";
    case FailureClass::Leak:
        return "blocks still allocated after every context was freed";
    case FailureClass::Hang:
        return "stopped by the watchdog, or waited for the peer in vain";
    case FailureClass::Crash:
        return "killed by a signal, or a sanitizer's report";
    }
    return "";
}

std::uint64_t not_clean(const ClassCounts& c) {
    std::uint64_t n = 0;
    for (std::size_t i = 1; i < c.size(); ++i) {
        n += c[i];
    }
    return n;
}

std::string counts_row(const ClassCounts& c) {
    std::string row;
    for (const std::uint64_t n : c) {
        row += fmt::format(" {:>7}", n == 0 ? std::string("-") : grouped(n));
    }
    return row;
}

std::string counts_header() {
    std::string row;
    for (const FailureClass c : kClasses) {
        row += fmt::format(" {:>7}", analysis::failure_class_name(c));
    }
    return row;
}

// A finding per class, site, state and error: the first call, and how many.
struct Finding {
    FailureClass kind;
    std::string site;
    std::string state;
    std::string detail;
    std::uint64_t first_call = 0;
    std::uint64_t calls = 0;
    std::vector<std::string> leak_sites;
};

std::vector<Finding> findings_of(const analysis::AllocationFailureSweep& sweep,
                                 const std::vector<analysis::AllocationPoint>& points, bool pools) {
    std::map<std::tuple<int, std::string, std::string, std::string>, Finding> by_key;
    std::vector<Finding> order;
    for (const analysis::ClassifiedInjection& c : sweep.runs) {
        // A pool that fits is what a pool sweep looks for, not a finding.
        if (c.kind == FailureClass::Clean || (pools && c.kind == FailureClass::Success)) {
            continue;
        }
        std::string site, state;
        if (const analysis::AllocationPoint* p = analysis::failed_point(c.run, points, pools)) {
            site = p->site;
            state = p->state;
        }
        const auto key = std::make_tuple(static_cast<int>(c.kind), site, state, c.detail);
        auto [it, added] = by_key.try_emplace(
            key, Finding{c.kind, site, state, c.detail, c.run.call, 0, c.leak_sites});
        ++it->second.calls;
    }
    for (auto& [key, f] : by_key) {
        order.push_back(std::move(f));
    }
    // The worst first, then by where in the handshake (a pool sweep's from
    // the largest pool down).
    std::sort(order.begin(), order.end(), [pools](const Finding& a, const Finding& b) {
        if (a.kind != b.kind) {
            return a.kind > b.kind;
        }
        return pools ? a.first_call > b.first_call : a.first_call < b.first_call;
    });
    return order;
}

nlohmann::json counts_json(const ClassCounts& c) {
    nlohmann::json j = nlohmann::json::object();
    for (const FailureClass k : kClasses) {
        j[analysis::failure_class_name(k)] = c[static_cast<std::size_t>(k)];
    }
    return j;
}

// What each handshake state needs of the pool: the largest pool in which
// the run still fails there, states in the order a shrinking pool meets
// them; and the check against the model's min pool.
void print_pool_steps(std::FILE* out, const PoolSweepRange& p,
                      const analysis::AllocationFailureSweep& sweep) {
    std::vector<std::pair<std::string, std::uint64_t>> states(sweep.largest_failing_pool.begin(),
                                                              sweep.largest_failing_pool.end());
    std::sort(states.begin(), states.end(),
              [](const auto& a, const auto& b) { return a.second > b.second; });
    fmt::print(out,
               "  the largest pool that fails: {} B; the mbedtls-pool model's min pool: {} B"
               " ({})\n",
               grouped(sweep.largest_failed_pool), grouped(p.high),
               sweep.largest_failed_pool + p.step == p.high
                   ? "one step above: the model is exact"
                   : "NOT one step above: the model and the allocator disagree");
    fmt::print(out, "\n  {:<34} {:>12}\n", "the run fails in", "up to a pool of");
    for (const auto& [state, pool] : states) {
        fmt::print(out, "    {:<32} {:>12} B\n", state, grouped(pool));
    }
}

} // namespace

void print_allocation_failures(std::FILE* out, const AllocationFailureSource& source,
                               const analysis::AllocationFailureSweep& sweep,
                               const std::vector<analysis::AllocationPoint>& points) {
    const RunDescription& run = source.run;
    fmt::print(out, "tlsheap oom: {} ({} side, mbedTLS {}, ABI {}, config {})\n", run.scenario,
               run.side, run.mbedtls_version, run.abi, run.config_name);
    if (source.pools) {
        const PoolSweepRange& p = *source.pools;
        fmt::print(out,
                   "  the baseline makes {} allocations; {} runs on memory_buffer_alloc with "
                   "pools of {} down to {} bytes ({}-byte steps), in {:.1f} s ({} at once)\n",
                   grouped(source.baseline_allocations), grouped(sweep.runs.size()),
                   grouped(p.high), grouped(p.low), p.step, source.seconds, source.runners);
        print_pool_steps(out, p, sweep);
    } else {
        fmt::print(out,
                   "  the baseline makes {} allocations; {} runs failed calls {}-{}, one each, "
                   "in {:.1f} s ({} at once)\n",
                   grouped(source.baseline_allocations), grouped(sweep.runs.size()),
                   source.first_call, source.last_call, source.seconds, source.runners);
    }
    if (sweep.diverged > 0) {
        fmt::print(out,
                   "  warning: {} runs did not repeat the baseline up to the failed call (other "
                   "bytes asked): their sites and states are the baseline's, not theirs\n",
                   grouped(sweep.diverged));
    }
    fmt::print(out, "\n  {:<8} {:>7}  {}\n", "class", "runs", "meaning");
    for (const FailureClass c : kClasses) {
        fmt::print(out, "  {:<8} {:>7}  {}\n", analysis::failure_class_name(c),
                   grouped(sweep.counts[static_cast<std::size_t>(c)]),
                   source.pools && c == FailureClass::Success ? "completed: the pool was enough"
                                                              : class_meaning(c));
    }

    fmt::print(out, "\n  per handshake state of the failed call{}\n", counts_header());
    for (const auto& [state, counts] : sweep.by_state) {
        fmt::print(out, "    {:<34}{}\n", state.empty() ? "(none)" : state, counts_row(counts));
    }

    std::vector<std::pair<std::string, ClassCounts>> sites(sweep.by_site.begin(),
                                                           sweep.by_site.end());
    std::stable_sort(sites.begin(), sites.end(), [](const auto& a, const auto& b) {
        return not_clean(a.second) > not_clean(b.second);
    });
    std::size_t shown = 0;
    fmt::print(out, "\n  per call site (those with runs that were not clean first)\n  {}\n",
               counts_header());
    for (const auto& [site, counts] : sites) {
        if (shown == kSitesShown) {
            break;
        }
        fmt::print(out, "  {}  {}\n", counts_row(counts), site);
        ++shown;
    }
    if (sites.size() > shown) {
        fmt::print(out, "    ... {} more sites (--json has them all)\n", sites.size() - shown);
    }

    const std::vector<Finding> findings = findings_of(sweep, points, source.pools.has_value());
    if (findings.empty()) {
        fmt::print(out, "\n  every run ended in a clean out-of-memory error\n");
        return;
    }
    fmt::print(out, "\n  runs that were not clean, by class, error and call site ({}, how many):\n",
               source.pools ? "largest pool" : "first call");
    for (const Finding& f : findings) {
        fmt::print(out, "    {:<7} {} {:>6} ({} run{}) in {}, {}: {}\n",
                   analysis::failure_class_name(f.kind), source.pools ? "pool" : "call",
                   f.first_call, grouped(f.calls), f.calls == 1 ? "" : "s", f.state, f.site,
                   f.detail);
        for (const std::string& s : f.leak_sites) {
            fmt::print(out, "             leaked block from {}\n", s);
        }
    }
    fmt::print(out, "  ({}; --json names each run's site and state)\n",
               source.pools ? "a pool sweep's group is named by its largest pool"
                            : "--calls K repeats run K alone");
}

nlohmann::json allocation_failures_json(const AllocationFailureSource& source,
                                        const analysis::AllocationFailureSweep& sweep,
                                        const std::vector<analysis::AllocationPoint>& points) {
    const RunDescription& run = source.run;
    nlohmann::json j;
    j["schema_version"] = 1;
    j["kind"] = "tlsheap.oom";
    j["run"] = {{"scenario", run.scenario}, {"side", run.side},
                {"peer", run.peer},         {"mbedtls_version", run.mbedtls_version},
                {"abi", run.abi},           {"config", run.config_name},
                {"trace", run.trace_path}};
    j["baseline_allocations"] = source.baseline_allocations;
    if (source.pools) {
        const PoolSweepRange& p = *source.pools;
        nlohmann::json states = nlohmann::json::array();
        for (const auto& [state, pool] : sweep.largest_failing_pool) {
            states.push_back({{"state", state}, {"largest_failing_pool", pool}});
        }
        j["pools"] = {{"model_min_pool", p.high},
                      {"low", p.low},
                      {"step", p.step},
                      {"largest_failed_pool", sweep.largest_failed_pool},
                      {"by_state", states}};
    } else {
        j["calls"] = {{"first", source.first_call}, {"last", source.last_call}};
    }
    j["runners"] = source.runners;
    j["seconds"] = source.seconds;
    j["diverged"] = sweep.diverged;
    j["counts"] = counts_json(sweep.counts);
    nlohmann::json states = nlohmann::json::array();
    for (const auto& [state, counts] : sweep.by_state) {
        states.push_back({{"state", state}, {"counts", counts_json(counts)}});
    }
    j["by_state"] = states;
    nlohmann::json sites = nlohmann::json::array();
    for (const auto& [site, counts] : sweep.by_site) {
        sites.push_back({{"site", site}, {"counts", counts_json(counts)}});
    }
    j["by_site"] = sites;
    nlohmann::json findings = nlohmann::json::array();
    for (const Finding& f : findings_of(sweep, points, source.pools.has_value())) {
        findings.push_back({{"class", analysis::failure_class_name(f.kind)},
                            {"site", f.site},
                            {"state", f.state},
                            {"detail", f.detail},
                            {"first_call", f.first_call},
                            {"calls", f.calls},
                            {"leak_sites", f.leak_sites}});
    }
    j["findings"] = findings;
    nlohmann::json runs = nlohmann::json::array();
    for (const analysis::ClassifiedInjection& c : sweep.runs) {
        static const analysis::AllocationPoint kNone;
        const analysis::AllocationPoint* p =
            analysis::failed_point(c.run, points, source.pools.has_value());
        const analysis::AllocationPoint& at = p != nullptr ? *p : kNone;
        nlohmann::json r = {
            {"call", c.run.call},          {"class", analysis::failure_class_name(c.kind)},
            {"detail", c.detail},          {"site", at.site},
            {"state", at.state},           {"phase", at.phase},
            {"connection", at.connection}, {"bytes", at.bytes}};
        if (source.pools) {
            r["pool"] = c.run.call;
            r["call"] = c.run.reported ? c.run.failed_call : 0;
        }
        if (c.run.reported) {
            r["error"] = c.run.ret;
            r["error_state"] = c.run.state;
            r["message"] = c.run.text;
            r["leaked_bytes"] = c.run.leaked_bytes;
            r["leaked_blocks"] = c.run.leaked_blocks;
            r["leak_sites"] = c.leak_sites;
        }
        runs.push_back(std::move(r));
    }
    j["runs"] = runs;
    return j;
}

} // namespace tlsheap::report
