#include "report/abi_comparison_table.h"

#include "tlsheap/number_format.h"
#include "tlsheap/trace_meta.h"

#include <fmt/format.h>

namespace tlsheap::report {

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
    if (base.stack) {
        // --stack: what each ABI's compiler makes of mbedTLS's frames.
        row("stack below the call (bytes)", [](const AbiColumn& c) {
            return c.result->stack ? grouped(c.result->stack->below_call) : std::string("-");
        });
        row("heap + stack (bytes)", [](const AbiColumn& c) {
            return c.result->stack
                       ? grouped(c.result->live_peak.bytes + c.result->stack->below_call)
                       : std::string("-");
        });
    }
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

} // namespace tlsheap::report
