#include "cli/export_command.h"

#include "cli/json_document.h"
#include "cli/output_file.h"
#include "cli/trace_command.h"
#include "report/dashboard_formats.h"
#include "tlsheap/user_error.h"

#include <algorithm>
#include <fmt/format.h>
#include <memory>

namespace tlsheap::cli {

namespace {

struct ExportOptions {
    std::string document;
    std::string format;
    std::string output = "-";
    std::vector<std::string> models;
};

int run_export(const ExportOptions& o) {
    if (is_viewer_format(o.format)) {
        TraceExportOptions trace;
        trace.path = o.document;
        trace.json = o.output;
        trace.format = o.format;
        trace.models = o.models;
        return export_trace(trace);
    }
    refuse_models_for(o.format, o.models);
    refuse_overwriting_inputs("--json", o.output, {o.document});
    const auto& formats = report::dashboard_formats();
    if (std::find(formats.begin(), formats.end(), o.format) == formats.end()) {
        throw UserError(fmt::format("export writes a dashboard format ({}) of a document or a "
                                    "viewer's format (folded, folded-allocated, massif, "
                                    "chrome-trace, pprof) of a trace, not '{}'",
                                    fmt::join(formats, ", "), o.format),
                        kExitBadInput);
    }
    const nlohmann::json document = read_document(o.document);
    warn_truncated_traces(o.document, document);
    write_document(o.output, document, o.format);
    return kExitOk;
}

} // namespace

void add_export_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<ExportOptions>();
    CLI::App* cmd = app.add_subcommand(
        "export", "Write a profile, profile-abis or sweep document in a dashboard's format: "
                  "benchmark-action (github-action-benchmark, customSmallerIsBetter) or bmf "
                  "(Bencher Metric Format); or a trace in a viewer's format (as trace export)");
    cmd->add_option("document", o->document, "JSON document written by tlsheap, or a trace")
        ->required();
    cmd->add_option("--format", o->format,
                    "benchmark-action or bmf (a document); folded, folded-allocated, massif, "
                    "chrome-trace or pprof (a trace)")
        ->required();
    cmd->add_option("--model", o->models,
                    "massif, chrome-trace: as in trace export (NAME[:key=value,...])");
    // --json as every other command spells it; --output as export first did.
    cmd->add_option("--json,--output", o->output, "write to FILE (-: stdout)")
        ->check(output_file())
        ->capture_default_str();
    cmd->callback([o, &exit_code] { exit_code = run_export(*o); });
}

} // namespace tlsheap::cli
