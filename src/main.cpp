// tlsheap: heap profiler and allocator replay for mbedTLS handshakes.
#include "cli/advise_command.h"
#include "cli/build_command.h"
#include "cli/capacity_command.h"
#include "cli/compare_command.h"
#include "cli/diff_command.h"
#include "cli/export_command.h"
#include "cli/gate_command.h"
#include "cli/merge_command.h"
#include "cli/minpool_command.h"
#include "cli/oom_command.h"
#include "cli/parse_error_text.h"
#include "cli/profile_command.h"
#include "cli/record_command.h"
#include "cli/replay_command.h"
#include "cli/report_command.h"
#include "cli/scenarios_command.h"
#include "cli/sweep_command.h"
#include "cli/trace_command.h"
#include "cli/version_text.h"
#include "tlsheap/allocator_model.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/transform.h"
#include "tlsheap/user_error.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

namespace {

// A report lost to a full disk or a closed file is a failure, not a
// success: a CI step that runs `tlsheap ... > report.txt` must not pass with
// half a report. Checked once, when the command is done.
int with_stdout_checked(int exit_code) {
    std::cout.flush();
    const bool failed = std::fflush(stdout) != 0;
    const int error = errno;
    if (failed || std::ferror(stdout) || !std::cout) {
        std::fprintf(stderr, "tlsheap: error: cannot write to standard output%s%s%s\n",
                     failed ? " (" : "", failed ? std::strerror(error) : "", failed ? ")" : "");
        return tlsheap::kExitBadInput;
    }
    return exit_code;
}

int run(int argc, char** argv) {
    // Named, so that usage lines say "tlsheap", not the path it was run by.
    CLI::App app{"tlsheap: how much heap does an mbedTLS connection need, where does it go, and "
                 "what would it take under another allocator",
                 "tlsheap"};
    app.set_version_flag(
        "--version", [] { return tlsheap::cli::version_text(); },
        "Print the version, commit, data files and mbedTLS trees, and exit");
    app.require_subcommand(1);
    int exit_code = tlsheap::kExitOk;
    tlsheap::cli::add_profile_command(app, exit_code);
    tlsheap::cli::add_replay_command(app, exit_code);
    tlsheap::cli::add_build_command(app, exit_code);
    tlsheap::cli::add_record_command(app, exit_code);
    tlsheap::cli::add_report_command(app, exit_code);
    tlsheap::cli::add_minpool_command(app, exit_code);
    tlsheap::cli::add_capacity_command(app, exit_code);
    tlsheap::cli::add_oom_command(app, exit_code);
    tlsheap::cli::add_compare_command(app, exit_code);
    tlsheap::cli::add_sweep_command(app, exit_code);
    tlsheap::cli::add_merge_command(app, exit_code);
    tlsheap::cli::add_gate_command(app, exit_code);
    tlsheap::cli::add_advise_command(app, exit_code);
    tlsheap::cli::add_diff_command(app, exit_code);
    tlsheap::cli::add_export_command(app, exit_code);
    tlsheap::cli::add_trace_command(app, exit_code);
    tlsheap::cli::add_scenarios_command(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version end the parse too, with exit code 0.
        if (e.get_exit_code() == 0) {
            return app.exit(e);
        }
        // Like every other error: one line that names the problem.
        if (app.get_subcommands().empty() && argc > 1 && argv[1][0] != '-') {
            std::string known;
            for (const CLI::App* c : app.get_subcommands({})) {
                known += (known.empty() ? "" : ", ") + c->get_name();
            }
            std::fprintf(stderr, "tlsheap: error: unknown command '%s' (commands: %s)\n", argv[1],
                         known.c_str());
        } else {
            std::fprintf(stderr, "tlsheap: error: %s\n",
                         tlsheap::cli::parse_error_text(e, app).c_str());
        }
        return tlsheap::kExitBadInput;
    } catch (const tlsheap::UserError& e) {
        std::fprintf(stderr, "tlsheap: error: %s\n", e.what());
        if (!e.details().empty()) {
            std::fprintf(stderr, "%s", e.details().c_str());
        }
        return e.exit_code();
    } catch (const tlsheap::trace::TraceError& e) {
        std::fprintf(stderr, "tlsheap: error: %s\n", e.what());
        return tlsheap::kExitBadInput;
    } catch (const tlsheap::replay::TransformError& e) {
        std::fprintf(stderr, "tlsheap: error: %s\n", e.what());
        return tlsheap::kExitBadInput;
    } catch (const tlsheap::replay::ModelError& e) {
        std::fprintf(stderr, "tlsheap: error: %s\n", e.what());
        return tlsheap::kExitBadInput;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tlsheap: error: %s\n", e.what());
        return tlsheap::kExitFailed;
    }
    return exit_code;
}

} // namespace

int main(int argc, char** argv) {
    return with_stdout_checked(run(argc, argv));
}
