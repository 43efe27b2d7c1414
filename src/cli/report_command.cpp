#include "cli/report_command.h"

#include "cli/html_option.h"
#include "cli/json_document.h"
#include "cli/output_file.h"
#include "cli/replay_command.h"
#include "report/html_report.h"
#include "tlsheap/trace_format.h"
#include "tlsheap/user_error.h"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace tlsheap::cli {

namespace {

struct ReportOptions {
    std::string input;
    std::string html;
    std::vector<std::string> models = {"ideal", "mbedtls-pool"};
    std::string heap;
    std::string transform;
};

// A trace starts with its magic; anything else is read as a JSON document.
bool is_trace(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw UserError("cannot read " + path, kExitBadInput);
    }
    char head[sizeof trace::kMagic] = {};
    in.read(head, sizeof head);
    return in.gcount() == sizeof head &&
           std::equal(std::begin(head), std::end(head), std::begin(trace::kMagic),
                      [](char c, unsigned char m) { return static_cast<unsigned char>(c) == m; });
}

std::string view_name(const nlohmann::json& profile, const std::string& fallback) {
    const nlohmann::json* scenario = nullptr;
    if (profile.is_object() && profile.contains("run") && profile["run"].is_object() &&
        profile["run"].contains("scenario") && profile["run"]["scenario"].is_string()) {
        scenario = &profile["run"]["scenario"];
    }
    return scenario != nullptr && !scenario->get<std::string>().empty()
               ? scenario->get<std::string>()
               : fallback;
}

std::string abi_of(const nlohmann::json& profile) {
    if (profile.is_object() && profile.contains("variant") && profile["variant"].is_object() &&
        profile["variant"].contains("abi") && profile["variant"]["abi"].is_string()) {
        return profile["variant"]["abi"].get<std::string>();
    }
    return "?";
}

int report_document(const ReportOptions& o) {
    const nlohmann::json document = read_document(o.input);
    warn_truncated_traces(o.input, document);
    const std::string kind =
        document.is_object() && document.contains("kind") && document["kind"].is_string()
            ? document["kind"].get<std::string>()
            : std::string();
    if (kind == "tlsheap.profile") {
        const std::string name = view_name(document, o.input);
        write_html_report(o.html, "tlsheap: " + name, "profile",
                          nlohmann::json::array({report::html_document_view(name, document)}));
        return kExitOk;
    }
    if (kind == "tlsheap.profile-abis" && document.contains("profiles") &&
        document["profiles"].is_array()) {
        nlohmann::json views = nlohmann::json::array();
        for (const nlohmann::json& profile : document["profiles"]) {
            views.push_back(report::html_document_view(
                view_name(profile, o.input) + " · ABI " + abi_of(profile), profile));
        }
        write_html_report(o.html, "tlsheap: " + o.input, "profile", views);
        return kExitOk;
    }
    if (kind == "tlsheap.sweep" && document.contains("cells") && document["cells"].is_array()) {
        write_html_report(o.html, "tlsheap sweep: " + o.input, "sweep", nlohmann::json::array(),
                          document);
        return kExitOk;
    }
    throw UserError(o.input + " is " + (kind.empty() ? "no tlsheap document" : "a " + kind) +
                        ": report reads a trace or a profile, profile-abis or sweep document",
                    kExitBadInput);
}

int run_report(const ReportOptions& o) {
    check_html_output(o.html, std::string(), {o.input});
    if (is_trace(o.input)) {
        ReplayCommandOptions replay;
        replay.trace = o.input;
        replay.models = o.models;
        replay.heap = o.heap;
        replay.transform = o.transform;
        replay.html = o.html;
        replay.terminal = false;
        return run_replay(replay);
    }
    if (o.models != ReportOptions{}.models || !o.heap.empty() || !o.transform.empty()) {
        throw UserError("--model, --heap and --transform replay a trace; " + o.input +
                            " is a document, drawn as it is",
                        kExitBadInput);
    }
    return report_document(o);
}

} // namespace

void add_report_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<ReportOptions>();
    CLI::App* cmd = app.add_subcommand(
        "report", "Draw a trace, or a profile, profile-abis or sweep document, as an HTML report");
    cmd->add_option("input", o->input, "trace, or JSON document written by tlsheap")->required();
    add_html_option(cmd, o->html)->required();
    cmd->add_option("--model", o->models, "a trace's models: NAME[:key=value,...] (repeatable)")
        ->capture_default_str();
    cmd->add_option("--heap", o->heap, "a trace: replay on a device heap of this many bytes");
    cmd->add_option("--transform", o->transform,
                    "a trace: as another buffer scheme would allocate (esp-dynamic[:...], "
                    "axtls-growth[:...])");
    cmd->callback([o, &exit_code] { exit_code = run_report(*o); });
}

} // namespace tlsheap::cli
