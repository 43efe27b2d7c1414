#include "pipeline/tool_files.h"

#include "tlsheap/user_error.h"
#include "tlsheap_version.h"

#include <cstdlib>
#include <system_error>
#include <unistd.h>

namespace fs = std::filesystem;

namespace tlsheap::pipeline {

namespace {

// A layout counts only when the recorder's entry point and the scenarios are
// there: a half-removed installation falls through to the next candidate.
bool complete(const ToolFiles& f) {
    std::error_code ec;
    return fs::is_regular_file(f.recorder.dir / "recorder_main.cpp", ec) &&
           fs::is_regular_file(f.recorder.include_dir / "tlsheap" / "trace_format.h", ec) &&
           fs::is_directory(f.scenarios, ec);
}

fs::path executable_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

ToolFiles find_tool_files() {
    if (const char* dir = std::getenv("TLSHEAP_SOURCE_DIR"); dir != nullptr && *dir != '\0') {
        ToolFiles f = checkout_files(dir);
        if (!complete(f)) {
            throw UserError(std::string("TLSHEAP_SOURCE_DIR=") + dir +
                                " is not a tlsheap checkout (no src/recorder or scenarios)",
                            kExitBadInput);
        }
        return f;
    }
    std::string looked;
    if (const fs::path bin = executable_dir(); !bin.empty()) {
        ToolFiles f = installed_files((bin.parent_path() / "share" / "tlsheap").lexically_normal());
        if (complete(f)) {
            return f;
        }
        looked = f.root.string() + ", ";
    }
    ToolFiles f = checkout_files(kBuildSourceDir);
    if (complete(f)) {
        return f;
    }
    throw UserError("cannot find tlsheap's data files (recorder sources, scenarios); looked in " +
                        looked + f.root.string() +
                        " (reinstall, or set TLSHEAP_SOURCE_DIR to a "
                        "tlsheap checkout)",
                    kExitFailed);
}

} // namespace

std::string ToolFiles::describe() const {
    return (installed ? "installed in " : "checkout ") + root.string();
}

ToolFiles checkout_files(const fs::path& root) {
    ToolFiles f;
    f.root = root;
    f.recorder = {root / "src" / "recorder", root / "include"};
    f.scenarios = root / "scenarios";
    f.fetch_script = root / "scripts" / "fetch-mbedtls.sh";
    return f;
}

ToolFiles installed_files(const fs::path& share_dir) {
    ToolFiles f;
    f.root = share_dir;
    f.installed = true;
    f.recorder = {share_dir / "recorder", share_dir / "include"};
    f.scenarios = share_dir / "scenarios";
    f.fetch_script = share_dir / "fetch-mbedtls.sh";
    return f;
}

const ToolFiles& tool_files() {
    static const ToolFiles files = find_tool_files();
    return files;
}

fs::path scenario_dir() {
    return tool_files().scenarios;
}

} // namespace tlsheap::pipeline
