#include "build/toolchain.h"

#include "build/build_error.h"
#include "process/child_process.h"

#include <chrono>

namespace tlsheap::build {

namespace {

bool command_works(const std::vector<std::string>& argv) {
    try {
        const auto r = process::run_command(argv, std::chrono::seconds(20));
        return r.status == 0;
    } catch (const process::ProcessError&) {
        return false;
    }
}

} // namespace

Toolchain toolchain_for(const std::string& abi, const std::string& stack_backend) {
    Toolchain t;
    t.abi = abi;
    if (abi == "host") {
        t.cc = "gcc";
        t.cxx = "g++";
        t.stack_backend = stack_backend.empty() ? "frame-pointer" : stack_backend;
        t.link_libraries = {"-lpthread"};
    } else {
        throw BuildError("unknown ABI '" + abi + "' (this build of tlsheap supports: host)");
    }
    if (t.stack_backend == "frame-pointer") {
        t.stack_backend_source = "stack_capture_frame_pointer.cpp";
        t.codegen_flags = {"-fno-omit-frame-pointer"};
    } else if (t.stack_backend == "libunwind") {
        t.stack_backend_source = "stack_capture_libunwind.cpp";
        t.link_libraries.push_back("-lunwind");
    } else if (t.stack_backend == "execinfo") {
        t.stack_backend_source = "stack_capture_execinfo.cpp";
    } else {
        throw BuildError("unknown stack backend '" + t.stack_backend +
                         "' (frame-pointer, libunwind, execinfo)");
    }
    if (!command_works({t.cc, "--version"}) || !command_works({t.cxx, "--version"})) {
        throw BuildError("no working " + t.cc + "/" + t.cxx + " for ABI " + abi +
                         " (install Debian's build-essential)");
    }
    return t;
}

std::string compiler_identity(const Toolchain& toolchain) {
    std::string id;
    for (const std::string& compiler : {toolchain.cc, toolchain.cxx}) {
        const auto r = process::run_command({compiler, "--version"}, std::chrono::seconds(20));
        id += r.out.substr(0, r.out.find('\n')) + "\n";
    }
    return id;
}

} // namespace tlsheap::build
