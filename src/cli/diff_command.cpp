#include "cli/diff_command.h"

#include "analysis/profile_diff.h"
#include "cli/json_document.h"
#include "cli/number_option.h"
#include "cli/output_file.h"
#include "tlsheap/user_error.h"

#include <memory>

namespace tlsheap::cli {

namespace {

struct DiffOptions {
    std::string a;
    std::string b;
    std::string json;
    unsigned top = 10;
};

int run_diff(const DiffOptions& o) {
    refuse_overwriting_inputs("--json", o.json, {o.a, o.b});
    reserve_stdout_for_json(o.json);
    const nlohmann::json a = read_document(o.a);
    const nlohmann::json b = read_document(o.b);
    warn_truncated_traces(o.a, a);
    warn_truncated_traces(o.b, b);
    analysis::ProfileDiff diff;
    try {
        diff = analysis::diff_profiles(a, b);
    } catch (const analysis::MetricsError& e) {
        // "A: ..." / "B: ..." -> the file's name
        std::string message = e.what();
        if (message.rfind("A: ", 0) == 0) {
            message = o.a + ": " + message.substr(3);
        } else if (message.rfind("B: ", 0) == 0) {
            message = o.b + ": " + message.substr(3);
        }
        throw UserError(message, kExitBadInput);
    }
    analysis::print_diff(stdout, diff, o.a, o.b, o.top);
    if (!o.json.empty()) {
        write_json_file(o.json, analysis::diff_json(diff, o.a, o.b));
    }
    // Differences are the answer, not a failure: `tlsheap gate` judges them.
    return kExitOk;
}

} // namespace

void add_diff_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<DiffOptions>();
    CLI::App* cmd = app.add_subcommand(
        "diff", "What grew and what shrank between two profile, profile-abis or sweep documents: "
                "headline figures, phases, handshake states, call sites");
    cmd->add_option("a", o->a, "the earlier document (JSON written by tlsheap)")->required();
    cmd->add_option("b", o->b, "the later document")->required();
    cmd->add_option("--json", o->json,
                    "write the differences as JSON (kind tlsheap.diff) to FILE (-: stdout, the "
                    "report then on stderr)")
        ->check(output_file());
    top_option(cmd->add_option("--top", o->top, "entries to list per section"))
        ->capture_default_str();
    cmd->callback([o, &exit_code] { exit_code = run_diff(*o); });
}

} // namespace tlsheap::cli
