#include "pipeline/program_recording.h"

#include "pipeline/tool_files.h"
#include "process/child_process.h"
#include "symbolize/elf_dependencies.h"
#include "symbolize/trace_symbolizer.h"
#include "tlsheap/trace_format.h"
#include "tlsheap/trace_info.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/user_error.h"
#include "variants/build_error.h"
#include "variants/cache_directory.h"
#include "variants/mbedtls_tree.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fmt/format.h>
#include <optional>
#include <signal.h>
#include <unistd.h>

namespace tlsheap::pipeline {

namespace fs = std::filesystem;
namespace meta = trace::meta;

namespace {

// The raw trace, removed whatever happens.
class RawTrace {
  public:
    explicit RawTrace(const fs::path& final)
        : path_(fs::absolute(final).parent_path() /
                fmt::format(".{}.raw.{}", final.filename().string(), ::getpid())) {
        std::error_code ec;
        fs::remove(path_, ec);
    }
    ~RawTrace() {
        std::error_code ec;
        fs::remove(path_, ec);
    }
    RawTrace(const RawTrace&) = delete;
    RawTrace& operator=(const RawTrace&) = delete;
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

// SIGINT or SIGTERM to tlsheap while the program runs: passed on to the
// program (in a process group of its own, the terminal's Ctrl-C reaches
// tlsheap alone), which ends as it would have ended, and its trace with it.
volatile std::sig_atomic_t g_forward_signal = 0;

extern "C" void note_signal(int sig) {
    g_forward_signal = sig;
}

class ForwardedSignals {
  public:
    ForwardedSignals() {
        struct sigaction action {};
        action.sa_handler = note_signal;
        sigemptyset(&action.sa_mask);
        g_forward_signal = 0;
        sigaction(SIGINT, &action, &old_int_);
        sigaction(SIGTERM, &action, &old_term_);
    }
    ~ForwardedSignals() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    ForwardedSignals(const ForwardedSignals&) = delete;
    ForwardedSignals& operator=(const ForwardedSignals&) = delete;

  private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

// How long a program may take to end after a forwarded signal.
constexpr auto kSignalGrace = std::chrono::seconds(10);

std::string mbedtls_version_of(const fs::path& raw) {
    try {
        trace::TraceReader reader(raw.string());
        return trace::TraceInfo::read_description(reader).meta(meta::kMbedtlsVersion);
    } catch (const trace::TraceError& e) {
        throw UserError(std::string("the program's trace is unreadable: ") + e.what(), kExitFailed);
    }
}

// The program's file: as given, or found on PATH as execvp finds it.
fs::path program_file(const std::string& program) {
    if (program.find('/') != std::string::npos) {
        return program;
    }
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "";
    for (std::size_t start = 0; start <= dirs.size();) {
        const auto end = dirs.find(':', start);
        const fs::path candidate =
            fs::path(dirs.substr(start, end == std::string::npos ? end : end - start)) / program;
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec)) {
            return candidate;
        }
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    return {};
}

} // namespace

std::vector<std::string> shared_mbedtls_libraries(const std::string& program) {
    const fs::path file = program_file(program);
    std::vector<std::string> found;
    if (file.empty()) {
        return found;
    }
    for (const std::string& library : symbolize::needed_libraries(file)) {
        if (trace::is_mbedtls_shared_library(library.c_str())) {
            found.push_back(library);
        }
    }
    return found;
}

std::string tree_of_shared_libraries(const std::vector<std::string>& libraries) {
    // mbedTLS's library/CMakeLists.txt: SOVERSION 7/1/14 in 2.28.3 (every
    // 2.28.x keeps them), 16/7/21 in 3.6.6.
    struct Tree {
        const char* name;
        const char* sonames[3];
    };
    static constexpr Tree kTrees[] = {
        {"2.28", {"libmbedcrypto.so.7", "libmbedx509.so.1", "libmbedtls.so.14"}},
        {"3.6", {"libmbedcrypto.so.16", "libmbedx509.so.7", "libmbedtls.so.21"}},
    };
    for (const Tree& tree : kTrees) {
        const bool all_of_it = std::all_of(libraries.begin(), libraries.end(), [&](const auto& l) {
            return std::find(std::begin(tree.sonames), std::end(tree.sonames), l) !=
                   std::end(tree.sonames);
        });
        if (!libraries.empty() && all_of_it) {
            return tree.name;
        }
    }
    return {};
}

std::string installed_config_header(const std::string& tree) {
    const fs::path header = tree.rfind("2.", 0) == 0 ? "/usr/include/mbedtls/config.h"
                                                     : "/usr/include/mbedtls/mbedtls_config.h";
    std::error_code ec;
    return fs::is_regular_file(header, ec) ? header.string() : std::string();
}

std::string fetched_tree_for_version(const std::string& version) {
    const auto first = version.find('.');
    const auto second = first == std::string::npos ? first : version.find('.', first + 1);
    return second == std::string::npos ? version : version.substr(0, second);
}

ProgramRecording record_program(const ProgramRecordingRequest& request) {
    if (request.command.empty()) {
        throw UserError("no program to record (tlsheap record --trace T -- PROGRAM ARGS)",
                        kExitBadInput);
    }
    const std::string& program = request.command.front();
    const RawTrace raw(request.trace);
    ProgramRecording result;
    {
        process::LaunchOptions launch;
        launch.argv = request.command;
        launch.inherit_stdio = true;
        launch.environment = {{"TLSHEAP_TRACE", raw.path().string()}};
        if (!request.preload.empty()) {
            // After any the user preloads: a malloc replacement there stays
            // the program's allocator (the shim then says it sees nothing).
            const char* preloaded = std::getenv("LD_PRELOAD");
            launch.environment.emplace_back("LD_PRELOAD",
                                            (preloaded != nullptr && *preloaded != '\0'
                                                 ? std::string(preloaded) + ":"
                                                 : std::string()) +
                                                request.preload.string());
        }
        std::unique_ptr<process::ChildProcess> child;
        try {
            child = std::make_unique<process::ChildProcess>(launch);
        } catch (const process::ProcessError& e) {
            throw UserError(e.what(), kExitBadInput);
        }
        const ForwardedSignals forwarding;
        const auto deadline = std::chrono::steady_clock::now() + request.timeout;
        std::optional<std::chrono::steady_clock::time_point> signalled;
        std::optional<int> status;
        while (!status) {
            status = child->wait(std::chrono::milliseconds(100));
            const auto now = std::chrono::steady_clock::now();
            if (status) {
                break;
            }
            if (g_forward_signal != 0 && !signalled) {
                ::kill(child->pid(), g_forward_signal);
                signalled = now;
            }
            if (now >= deadline || (signalled && now - *signalled > kSignalGrace)) {
                // SIGTERM first: the recording library keeps what it has.
                result.timed_out = now >= deadline;
                status = child->stop();
            }
        }
        result.program_status = *status;
    }
    std::error_code ec;
    if (!fs::exists(raw.path(), ec) || fs::file_size(raw.path(), ec) == 0) {
        if (!request.preload.empty()) {
            throw UserError(fmt::format("{} wrote no trace (exit status {}), although the preload "
                                        "shim was loaded (any line above from tlsheap says why)",
                                        program, result.program_status),
                            kExitFailed);
        }
        throw UserError(
            fmt::format("{} wrote no trace (exit status {}): link it with a variant exported by "
                        "`tlsheap build --export DIR` (pkg-config tlsheap-mbedtls, or CMake "
                        "package tlsheap-mbedtls)",
                        program, result.program_status),
            kExitFailed);
    }

    const std::string spec = !request.mbedtls.empty()
                                 ? request.mbedtls
                                 : fetched_tree_for_version(mbedtls_version_of(raw.path()));
    const fs::path cache = build::default_cache_directory();
    fs::path root;
    try {
        root = build::locate_mbedtls_tree(spec, cache, tool_files().fetch_script).root;
    } catch (const build::BuildError& e) {
        result.warnings.push_back(std::string(e.what()) +
                                  "; frames are not told apart as mbedTLS code (--mbedtls DIR "
                                  "names the tree the export was built from)");
    }
    try {
        const auto finalized = symbolize::finalize_trace(
            raw.path(), request.trace, root, {},
            {{cache, meta::kCachePath}, {tool_files().root, meta::kToolPath}},
            {cache / "symbols", {}});
        result.truncated = finalized.truncated;
        for (const std::string& w : finalized.warnings) {
            result.warnings.push_back(w);
        }
        if (finalized.resolved < finalized.addresses / 2) {
            result.warnings.push_back(
                fmt::format("only {} of {} return addresses were symbolized (build the program "
                            "with -g)",
                            finalized.resolved, finalized.addresses));
        }
    } catch (const trace::TraceError& e) {
        throw UserError(std::string("cannot finalize the program's trace: ") + e.what(),
                        kExitFailed);
    }
    return result;
}

} // namespace tlsheap::pipeline
