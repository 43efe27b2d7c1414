#include "cli/trace_command.h"

#include "cli/json_document.h"
#include "cli/number_option.h"
#include "cli/output_file.h"
#include "pipeline/named_inputs.h"
#include "report/chrome_trace.h"
#include "report/folded_stacks.h"
#include "report/json_text.h"
#include "report/massif_file.h"
#include "report/pprof_profile.h"
#include "report/record_flag_names.h"
#include "tlsheap/number_format.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/trace_info.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/trace_walker.h"
#include "tlsheap/user_error.h"

#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tlsheap::cli {

namespace {

using trace::Record;
using trace::Tag;

struct ShowOptions {
    std::string path;
    bool events = false;
    std::uint64_t limit = 0;
};

const char* record_kind(Tag t) {
    switch (t) {
    case Tag::Meta:
        return "meta";
    case Tag::Config:
        return "config";
    case Tag::StateName:
        return "state_name";
    case Tag::Module:
        return "module";
    case Tag::Stack:
        return "stack";
    case Tag::Frame:
        return "frame";
    case Tag::Alloc:
        return "alloc";
    case Tag::Free:
        return "free";
    case Tag::Phase:
        return "phase";
    case Tag::StepBegin:
        return "step_begin";
    case Tag::StepEnd:
        return "step_end";
    case Tag::Activity:
        return "activity";
    case Tag::Connection:
        return "connection";
    case Tag::TlsRecord:
        return "tls_record";
    case Tag::Role:
        return "role";
    case Tag::Outcome:
        return "outcome";
    case Tag::PoolStats:
        return "pool_stats";
    case Tag::StackHighWater:
        return "stack_high_water";
    case Tag::End:
        return "end";
    }
    return "unknown";
}

// "         dtls out Handshake epoch 0 seq 3, 120 B: plaintext, fragment" (every
// such record is a datagram's)
void print_datagram_record(const Record& r) {
    std::string flags;
    const auto shown = static_cast<std::uint8_t>(r.flags & ~trace::kRecordDatagram);
    for (const std::string& name : report::record_flag_names(shown)) {
        flags += (flags.empty() ? ": " : ", ") + name;
    }
    std::printf("%8s dtls %-3s %s epoch %u seq %llu, %u B%s\n", "",
                r.direction == trace::Direction::In ? "in" : "out",
                tls::content_type_name(r.content_type), static_cast<unsigned>(r.epoch),
                static_cast<unsigned long long>(r.sequence), static_cast<unsigned>(r.length),
                flags.c_str());
}

int show(const ShowOptions& o) {
    trace::TraceReader reader(o.path);
    trace::TraceWalker walker;
    const trace::TraceInfo& info = walker.info();
    Record r;
    std::map<std::string, std::uint64_t> counts;
    std::uint64_t printed = 0;
    std::vector<std::string> notes;
    replay::TlsRecordSummary datagrams; // DTLS records, by direction and flag
    while (reader.next(r)) {
        ++counts[record_kind(r.tag)];
        walker.feed(r);
        if (r.tag == Tag::TlsRecord && (r.flags & trace::kRecordDatagram) != 0) {
            datagrams.add(r.direction, r.length, r.flags);
            // DTLS records are listed among the events: which record (epoch,
            // sequence) was sent again, dropped or fragmented.
            if (o.events && (o.limit == 0 || printed < o.limit)) {
                print_datagram_record(r);
            }
        }
        if (r.tag == Tag::Outcome) {
            notes.push_back(fmt::format("{} in {}: {}", r.ret == 0 ? "ok" : "failure",
                                        info.state_name(r.state), r.value));
        }
        if (o.events && (r.tag == Tag::Alloc || r.tag == Tag::Free) &&
            (o.limit == 0 || printed < o.limit)) {
            ++printed;
            const trace::Phase phase = walker.phase();
            std::string where = phase == trace::Phase::Handshake ? info.state_name(walker.state())
                                                                 : trace::phase_name(phase);
            if (walker.connection_records()) {
                where = fmt::format("#{} {}", walker.connection(), where);
            }
            if (r.tag == Tag::Alloc) {
                std::printf("%8llu alloc %7llu x %-6llu -> %s  %-28s %s\n",
                            static_cast<unsigned long long>(r.seq),
                            static_cast<unsigned long long>(r.count),
                            static_cast<unsigned long long>(r.size),
                            r.address ? fmt::format("{:#x}", r.address).c_str() : "NULL",
                            where.c_str(), info.call_site(r.stack).label().c_str());
            } else {
                std::printf("%8llu free  %s (alloc %llu)  %-28s %s\n",
                            static_cast<unsigned long long>(r.seq),
                            r.address ? fmt::format("{:#x}", r.address).c_str() : "NULL",
                            static_cast<unsigned long long>(r.alloc_seq), where.c_str(),
                            r.stack ? info.call_site(r.stack).label().c_str() : "");
            }
        }
    }
    std::printf("trace %s: format %u.%u, %s\n", o.path.c_str(), reader.version_major(),
                reader.version_minor(), reader.complete() ? "complete" : "TRUNCATED");
    if (reader.truncated()) {
        std::printf("warning: %s\n", reader.truncation_message().c_str());
    }
    for (const auto& [key, value] : info.meta_map()) {
        if (key == trace::meta::kScenarioJson) {
            continue;
        }
        std::printf("  %-24s %s\n", key.c_str(), value.c_str());
    }
    std::printf("  %-24s %zu macros\n", "effective config", info.config().size());
    std::printf("  %-24s %zu names\n", "handshake states", info.state_names().size());
    std::printf("  %-24s %zu (%s)\n", "modules", info.modules().size(),
                info.modules().empty() ? "-" : info.modules().front().path.c_str());
    std::printf("  %-24s %zu distinct, %s\n", "call stacks", info.stack_count(),
                info.symbolized() ? "symbolized" : "not symbolized");
    if (walker.connection_records()) {
        std::printf("  %-24s %u (and 0, what they share)\n", "connections",
                    walker.connection_count() - 1);
    }
    std::printf("records:\n");
    for (const auto& [name, n] : counts) {
        std::printf("  %-12s %s\n", name.c_str(), grouped(n).c_str());
    }
    auto both = [](const std::uint64_t(&n)[2]) { return grouped(n[0] + n[1]); };
    if (datagrams.datagram) {
        std::printf("  %-12s %s datagram records: %s retransmitted, %s dropped, %s with a "
                    "fragment\n",
                    "dtls", both(datagrams.count).c_str(), both(datagrams.retransmitted).c_str(),
                    both(datagrams.dropped).c_str(), both(datagrams.fragments).c_str());
    }
    for (const std::string& n : notes) {
        std::printf("outcome: %s\n", n.c_str());
    }
    return kExitOk;
}

using ExportOptions = TraceExportOptions;

// The trace export formats; the folded ones are for flame graph viewers.
constexpr const char* kJsonFormat = "json";
constexpr const char* kFoldedAtPeak = "folded";
constexpr const char* kFoldedAllocated = "folded-allocated";
constexpr const char* kMassif = "massif";
constexpr const char* kChromeTrace = "chrome-trace";
constexpr const char* kPprof = "pprof";
// massif's own default --max-snapshots.
constexpr unsigned kMassifSnapshots = 100;
// A footprint counter changes at most this many times.
constexpr unsigned kChromeTraceModelPoints = 1024;

// Every viewer export ends alike: the whole file, then the warning of a trace
// cut short.
int write_viewer_export(const std::string& output, const std::string& content, bool truncated,
                        const std::string& truncation_message) {
    write_text_file(output, content);
    if (truncated) {
        std::fprintf(stderr, "tlsheap: warning: %s\n", truncation_message.c_str());
    }
    return kExitOk;
}

// Folded stacks of the bytes alive at the live peak (the blocks `replay`
// counts in its peak, so the lines add up to it) or of every allocation.
int export_folded(const ExportOptions& o) {
    refuse_overwriting_inputs("--output", o.json, {o.path});
    trace::TraceReader reader(o.path);
    replay::ReplayOptions options;
    options.series_points = 1;
    options.heap_verdicts = false;
    options.stack_tables = true;
    const replay::ReplayResult result = replay::replay_trace(reader, options);
    const auto lines =
        report::folded_lines(result.info, o.format == kFoldedAtPeak ? result.stacks_alive_at_peak
                                                                    : result.stacks_allocated);
    std::ostringstream text;
    report::write_folded(text, lines);
    return write_viewer_export(o.json, text.str(), result.truncated, result.truncation_message);
}

// A massif.out file: ms_print's peak is the live peak (plus the model's
// overhead with --model).
int export_massif(const ExportOptions& o) {
    refuse_overwriting_inputs("--output", o.json, {o.path});
    trace::TraceReader reader(o.path);
    replay::ReplayOptions options;
    options.series_points = kMassifSnapshots;
    options.heap_verdicts = false;
    options.stack_tables = true;
    report::MassifHeader header;
    header.options = "tlsheap trace export --format massif";
    if (o.models.size() > 1) {
        throw UserError("--format massif shows one model's overhead: give one --model, not " +
                            std::to_string(o.models.size()),
                        kExitBadInput);
    }
    if (!o.models.empty()) {
        options.models = pipeline::parse_model_specs(o.models);
        header.model = 0;
        header.options += " --model " + o.models.front();
    }
    const replay::ReplayResult result = replay::replay_trace(reader, options);
    const std::string scenario = result.info.meta(trace::meta::kScenarioName);
    header.command = o.path + (scenario.empty() ? "" : " (scenario " + scenario + ")");
    std::ostringstream text;
    report::write_massif(text, result, header);
    return write_viewer_export(o.json, text.str(), result.truncated, result.truncation_message);
}

// Trace Event JSON for Perfetto UI and chrome://tracing. The models' replay
// comes first (their footprints are counters); the trace is then read again
// and the events written as it goes by.
int export_chrome_trace(const ExportOptions& o) {
    refuse_overwriting_inputs("--output", o.json, {o.path});
    replay::ReplayOptions options;
    options.models = pipeline::parse_model_specs(o.models);
    options.heap_verdicts = false;
    options.series_points = kChromeTraceModelPoints;
    const replay::ReplayResult models = [&] {
        trace::TraceReader reader(o.path);
        return replay::replay_trace(reader, options);
    }();
    trace::TraceReader reader(o.path);
    trace::TraceWalker walker;
    std::ostringstream text;
    report::ChromeTraceWriter writer(text, walker, models);
    walker.walk(reader, writer);
    writer.finish();
    return write_viewer_export(o.json, text.str(), reader.truncated(), reader.truncation_message());
}

// A gzipped profile.proto for pprof. The replay finds the live peak; the
// trace is then read again, and the blocks alive right after the peak's event
// are the inuse samples.
int export_pprof(const ExportOptions& o) {
    refuse_overwriting_inputs("--output", o.json, {o.path});
    replay::ReplayOptions options;
    options.heap_verdicts = false;
    options.series_points = 1;
    const replay::ReplayResult replayed = [&] {
        trace::TraceReader reader(o.path);
        return replay::replay_trace(reader, options);
    }();
    trace::TraceReader reader(o.path);
    trace::TraceWalker walker;
    report::PprofProfileBuilder builder(walker, replayed.live_peak.at.seq);
    walker.walk(reader, builder);
    return write_viewer_export(o.json, builder.gzipped(replayed.duration_ns), reader.truncated(),
                               reader.truncation_message());
}

// One JSON document, written as the trace streams by (events are never
// held in memory). With --stable, what may differ between two runs of a
// deterministic scenario is left out: timestamps, host addresses, modules'
// load addresses. Two such exports of the same scenario are byte-identical.
int export_json(const ExportOptions& o) {
    refuse_overwriting_inputs("--json", o.json, {o.path});
    trace::TraceReader reader(o.path);
    std::ofstream file;
    std::ostream* out = &std::cout;
    if (o.json != "-") {
        file.open(o.json);
        if (!file) {
            throw UserError("cannot write " + o.json, kExitBadInput);
        }
        out = &file;
    }
    trace::TraceWalker walker;
    const trace::TraceInfo& info = walker.info();
    Record r;
    using nlohmann::json;
    *out << "{\"schema_version\":1,\"kind\":\"tlsheap.trace\",\"events\":[";
    bool first = true;
    auto emit = [&](const json& j) {
        *out << (first ? "\n" : ",\n") << report::json_text(j);
        first = false;
    };
    auto site = [&](std::uint32_t stack) -> json {
        if (stack == 0) {
            return nullptr;
        }
        if (o.stable) {
            return info.describe_stack(stack);
        }
        return info.call_site(stack).label();
    };
    while (reader.next(r)) {
        walker.feed(r);
        if (info.describes(r.tag)) {
            continue;
        }
        const char* phase = trace::phase_name(walker.phase());
        const std::string state = info.state_name(walker.state());
        json j;
        switch (r.tag) {
        case Tag::Alloc:
            j = {{"seq", r.seq},         {"type", "alloc"}, {"count", r.count}, {"size", r.size},
                 {"ok", r.address != 0}, {"phase", phase},  {"state", state}};
            if (!o.stable) {
                j["time_ns"] = r.time_ns;
                j["address"] = r.address;
            }
            j[o.stable ? "stack" : "call_site"] = site(r.stack);
            if (walker.connection_records()) {
                j["connection"] = walker.connection();
            }
            break;
        case Tag::Free:
            j = {{"seq", r.seq},           {"type", "free"}, {"alloc_seq", r.alloc_seq},
                 {"null", r.address == 0}, {"phase", phase}, {"state", state}};
            if (!o.stable) {
                j["time_ns"] = r.time_ns;
                j["address"] = r.address;
                j["call_site"] = site(r.stack);
            }
            if (walker.connection_records()) {
                j["connection"] = walker.connection();
            }
            break;
        case Tag::Phase:
            j = {{"type", "phase"}, {"phase", phase}};
            break;
        case Tag::StepBegin:
            j = {{"type", "step_begin"}, {"state", info.state_name(r.state)}};
            break;
        case Tag::StepEnd:
            j = {{"type", "step_end"}, {"state_after", info.state_name(r.state)}, {"ret", r.ret}};
            break;
        case Tag::Activity:
            j = {{"type", "activity"}, {"name", r.key}, {"begin", r.begin}};
            break;
        case Tag::Connection:
            j = {{"type", "connection"}, {"connection", r.connection}};
            break;
        case Tag::TlsRecord:
            j = {{"type", "tls_record"},
                 {"direction", r.direction == trace::Direction::In ? "in" : "out"},
                 {"content_type", r.content_type},
                 {"version", r.version},
                 {"length", r.length},
                 {"plaintext", (r.flags & trace::kRecordPlaintext) != 0},
                 {"handshake_types", r.hs_types}};
            if ((r.flags & trace::kRecordDatagram) != 0) {
                j["epoch"] = r.epoch;
                j["sequence"] = r.sequence;
                j["flags"] = report::record_flag_names(r.flags);
            }
            break;
        case Tag::Role:
            j = {{"type", "role"}, {"alloc_seq", r.role_seq}, {"role", trace::role_name(r.role)}};
            break;
        case Tag::Outcome:
            j = {{"type", "outcome"},
                 {"ret", r.ret},
                 {"state", info.state_name(r.state)},
                 {"text", r.value}};
            break;
        case Tag::PoolStats:
            j = {{"type", "pool_stats"}, {"values", r.values}};
            if (o.stable) {
                j["values"].erase(6); // the pool's host address
            }
            break;
        case Tag::StackHighWater:
            j = {{"type", "stack_high_water"},
                 {"connection", walker.connection()},
                 {"phase", phase},
                 {"state", state},
                 {"deepest", r.values[0]},
                 {"base", r.values[1]}};
            break;
        default:
            continue;
        }
        emit(j);
    }
    json meta = info.meta_map();
    json config = json::object();
    for (const auto& [n, v] : info.config()) {
        config[n] = v;
    }
    json modules = json::array();
    for (const auto& m : info.modules()) {
        json mj = {{"path", m.path}, {"build_id", m.build_id}};
        if (!o.stable) {
            mj["start"] = m.start;
            mj["end"] = m.end;
            mj["bias"] = m.bias;
        }
        modules.push_back(mj);
    }
    *out << "\n],\n\"complete\":" << (reader.complete() ? "true" : "false")
         << ",\n\"meta\":" << report::json_text(meta)
         << ",\n\"config\":" << report::json_text(config)
         << ",\n\"modules\":" << report::json_text(o.stable ? json::array() : modules) << "\n}\n";
    if (reader.truncated()) {
        std::fprintf(stderr, "tlsheap: warning: %s\n", reader.truncation_message().c_str());
    }
    return kExitOk;
}

} // namespace

bool is_viewer_format(const std::string& format) {
    return format == kFoldedAtPeak || format == kFoldedAllocated || format == kMassif ||
           format == kChromeTrace || format == kPprof;
}

void refuse_models_for(const std::string& format, const std::vector<std::string>& models) {
    if (!models.empty() && format != kMassif && format != kChromeTrace) {
        throw UserError(
            fmt::format("--model is for --format {} or {}, not {}", kMassif, kChromeTrace, format),
            kExitBadInput);
    }
}

int export_trace(const TraceExportOptions& o) {
    refuse_models_for(o.format, o.models);
    if (o.format == kJsonFormat) {
        return export_json(o);
    }
    if (o.format == kFoldedAtPeak || o.format == kFoldedAllocated) {
        return export_folded(o);
    }
    if (o.format == kMassif) {
        return export_massif(o);
    }
    if (o.format == kChromeTrace) {
        return export_chrome_trace(o);
    }
    if (o.format == kPprof) {
        return export_pprof(o);
    }
    throw UserError(fmt::format("trace export writes {}, {}, {}, {}, {} or {}, not '{}'",
                                kJsonFormat, kFoldedAtPeak, kFoldedAllocated, kMassif, kChromeTrace,
                                kPprof, o.format),
                    kExitBadInput);
}

void add_trace_command(CLI::App& app, int& exit_code) {
    CLI::App* cmd = app.add_subcommand("trace", "Inspect and export traces");
    cmd->require_subcommand(1);

    auto show_options = std::make_shared<ShowOptions>();
    CLI::App* show_cmd = cmd->add_subcommand("show", "Describe a trace (and list its events)");
    show_cmd->add_option("trace", show_options->path, "trace file")->required();
    show_cmd->add_flag("--events", show_options->events, "list every allocation and free");
    // 0 inside means no limit; typed, it would be a mistake that lists everything.
    whole_number_option(
        show_cmd->add_option("--limit", show_options->limit, "list at most this many events"), 1,
        std::numeric_limits<std::uint64_t>::max());
    show_cmd->callback([show_options, &exit_code] { exit_code = show(*show_options); });

    auto export_options = std::make_shared<ExportOptions>();
    CLI::App* export_cmd = cmd->add_subcommand(
        "export", "Write a trace as one JSON document, or for other viewers: folded stacks for "
                  "flame graphs, massif for ms_print, Trace Event JSON for Perfetto, pprof");
    export_cmd->add_option("trace", export_options->path, "trace file")->required();
    export_cmd->add_option("--json,--output", export_options->json, "output file, - for stdout")
        ->check(output_file())
        ->required();
    export_cmd
        ->add_option("--format", export_options->format,
                     "json (every record), folded (bytes alive at the live peak by call "
                     "stack), folded-allocated (bytes allocated by call stack), massif (live "
                     "bytes over time, the live peak's heap tree), chrome-trace (counters and "
                     "a slice per handshake state, for Perfetto UI and chrome://tracing) or pprof "
                     "(gzipped profile.proto: bytes allocated and alive at the peak by stack, "
                     "labelled with state and phase)")
        ->capture_default_str();
    export_cmd->add_option("--model", export_options->models,
                           "massif: this model's headers, alignment and free gaps as "
                           "mem_heap_extra_B; chrome-trace: a footprint counter per model "
                           "(NAME[:key=value,...], repeatable)");
    export_cmd->add_flag("--stable", export_options->stable,
                         "leave out timestamps and host addresses (for comparing runs)");
    export_cmd->callback(
        [export_options, &exit_code] { exit_code = export_trace(*export_options); });
}

} // namespace tlsheap::cli
