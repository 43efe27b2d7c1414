#include "cli/json_document.h"

#include "analysis/profile_metrics.h"
#include "report/dashboard_formats.h"
#include "tlsheap/user_error.h"

#include <algorithm>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <vector>

namespace tlsheap::cli {

nlohmann::json read_document(const std::string& path, const std::string& what) {
    std::ifstream in(path);
    if (!in) {
        throw UserError("cannot read the " + what + " " + path, kExitBadInput);
    }
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        throw UserError("the " + what + " " + path + " is not JSON (" + e.what() + ")",
                        kExitBadInput);
    }
}

void warn_truncated_traces(const std::string& path, const nlohmann::json& document) {
    std::vector<analysis::CellMetrics> cells;
    try {
        cells = analysis::cell_metrics(document);
    } catch (const std::exception&) {
        return;
    }
    for (const analysis::CellMetrics& c : cells) {
        if (!c.trace_complete) {
            fmt::print(stderr,
                       "tlsheap: warning: {}: {}: profiled from a truncated trace, its figures "
                       "stop where the recording stopped\n",
                       path, c.key);
        }
    }
}

void check_format(const std::string& format) {
    const auto& formats = report::dashboard_formats();
    if (format != "tlsheap" && std::find(formats.begin(), formats.end(), format) == formats.end()) {
        throw UserError("unknown --format '" + format + "' (known: tlsheap, " +
                            fmt::format("{}", fmt::join(formats, ", ")) + ")",
                        kExitBadInput);
    }
}

std::string json_text(const nlohmann::json& document, int indent) {
    return document.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_json_file(const std::string& path, const nlohmann::json& document) {
    const std::string text = json_text(document, 2);
    std::ofstream file(path);
    file << text << "\n";
    if (!file) {
        throw UserError("cannot write " + path, kExitBadInput);
    }
}

void write_document(const std::string& path, const nlohmann::json& document,
                    const std::string& format) {
    nlohmann::json out = document;
    if (format != "tlsheap") {
        try {
            out = report::dashboard_document(document, format);
        } catch (const analysis::MetricsError& e) {
            throw UserError(e.what(), kExitBadInput);
        }
    }
    if (path == "-") {
        std::cout << json_text(out, 2) << "\n";
        return;
    }
    write_json_file(path, out);
}

} // namespace tlsheap::cli
