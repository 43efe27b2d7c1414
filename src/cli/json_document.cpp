#include "cli/json_document.h"

#include "analysis/profile_metrics.h"
#include "report/dashboard_formats.h"
#include "report/json_text.h"
#include "tlsheap/user_error.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <unistd.h>
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

void check_format(const std::string& format, const std::string& json) {
    const auto& formats = report::dashboard_formats();
    if (format != "tlsheap" && std::find(formats.begin(), formats.end(), format) == formats.end()) {
        throw UserError("unknown --format '" + format + "' (known: tlsheap, " +
                            fmt::format("{}", fmt::join(formats, ", ")) + ")",
                        kExitBadInput);
    }
    if (format != "tlsheap" && json.empty()) {
        throw UserError("--format " + format +
                            " converts the JSON document: give --json FILE "
                            "(or --json - for stdout)",
                        kExitBadInput);
    }
}

namespace {

// The real stdout once reserve_stdout_for_json() moved fd 1 to stderr.
int json_stdout = STDOUT_FILENO;

void write_stdout(const std::string& text) {
    std::cout.flush();
    std::fflush(stdout);
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(json_stdout, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            throw UserError(std::string("cannot write to standard output (") +
                                std::strerror(errno) + ")",
                            kExitBadInput);
        }
        done += static_cast<std::size_t>(n);
    }
}

} // namespace

void reserve_stdout_for_json(const std::string& json_path) {
    if (json_path != "-" || json_stdout != STDOUT_FILENO) {
        return;
    }
    std::cout.flush();
    std::fflush(stdout);
    const int saved = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        throw UserError(std::string("cannot set standard output aside for the JSON (") +
                            std::strerror(errno) + ")",
                        kExitFailed);
    }
    json_stdout = saved;
}

void write_text_file(const std::string& path, const std::string& text) {
    if (path == "-") {
        write_stdout(text);
        return;
    }
    std::ofstream file(path);
    file << text;
    file.close(); // a full disk shows at the last write
    if (!file) {
        throw UserError("cannot write " + path, kExitBadInput);
    }
}

void write_json_file(const std::string& path, const nlohmann::json& document) {
    write_text_file(path, report::json_text(document, 2) + "\n");
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
    write_json_file(path, out);
}

} // namespace tlsheap::cli
