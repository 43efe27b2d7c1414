// `tlsheap trace show|export`: a trace for people and for dashboards.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace tlsheap::cli {

void add_trace_command(CLI::App& app, int& exit_code);

struct TraceExportOptions {
    std::string path;
    std::string json; // the output, "-" for stdout
    std::string format = "json";
    bool stable = false;
    std::vector<std::string> models; // massif, chrome-trace
};

// The formats of other viewers (folded, massif, chrome-trace, pprof), which
// `export` writes too.
bool is_viewer_format(const std::string& format);

// Throws UserError (exit 2) when --model is given for a format other than
// massif or chrome-trace, which alone draw models.
void refuse_models_for(const std::string& format, const std::vector<std::string>& models);

// `trace export`: one line and exit 2 (UserError) for an unknown format.
int export_trace(const TraceExportOptions& o);

} // namespace tlsheap::cli
