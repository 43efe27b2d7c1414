#include "variants/toolchain.h"

#include "process/child_process.h"
#include "variants/build_error.h"
#include "variants/cache_directory.h"
#include "variants/content_hash.h"
#include "variants/program_version.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

namespace tlsheap::build {

namespace fs = std::filesystem;

namespace {

// Compiles and links a C++ program that uses the C and C++ runtimes with
// the toolchain's flags (what the recorder needs from it) into `probe`.
bool toolchain_builds(const Toolchain& t, const fs::path& probe) {
    const fs::path dir =
        fs::temp_directory_path() / ("tlsheap-probe-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    {
        std::ofstream(dir / "probe.cpp")
            << "#include <cerrno>\n#include <string>\n#include <pthread.h>\n"
               "int main() { return errno + int(std::string(1, 'x').size()) - 1; }\n";
    }
    std::vector<std::string> argv = {t.cxx};
    argv.insert(argv.end(), t.arch_flags.begin(), t.arch_flags.end());
    argv.insert(argv.end(),
                {(dir / "probe.cpp").string(), "-o", (dir / "probe").string(), "-lpthread"});
    bool ok = false;
    try {
        ok = process::run_command(argv, std::chrono::seconds(60)).status == 0;
    } catch (const process::ProcessError&) {
        ok = false;
    }
    std::error_code ec;
    if (ok) {
        fs::create_directories(probe.parent_path(), ec);
        fs::copy_file(dir / "probe", probe, fs::copy_options::overwrite_existing, ec);
        ok = !ec;
    }
    fs::remove_all(dir, ec);
    return ok;
}

// The probe compiles and links: remember a success, per process and on disk
// (keyed by the compilers' own version lines and the flags), and keep the
// probe program for runs_natively().
bool toolchain_probe_cached(const Toolchain& t, fs::path& probe) {
    static std::map<std::string, bool> memo;
    std::string id = compiler_identity(t);
    ContentHash key;
    key.add("toolchain-probe-v1").add(id);
    const fs::path base = default_cache_directory() / "toolchains" / key.hex();
    probe = fs::path(base.string() + ".probe");
    const auto known = memo.find(id);
    if (known != memo.end()) {
        return known->second;
    }
    const fs::path marker = fs::path(base.string() + ".ok");
    bool ok = fs::exists(marker) && fs::exists(probe);
    if (!ok) {
        ok = toolchain_builds(t, probe);
        if (ok) {
            std::ofstream(marker) << id;
        }
    }
    memo[id] = ok;
    return ok;
}

// Whether this kernel runs the toolchain's programs itself. A 64-bit kernel
// may run no 32-bit x86 code (ia32_emulation=off since Linux 6.7, and some
// sandboxes): then -m32 programs run under qemu-user. Asked once per process,
// not kept on disk, since the next boot may differ.
bool runs_natively(const fs::path& probe) {
    static std::map<std::string, bool> memo;
    const auto known = memo.find(probe.string());
    if (known != memo.end()) {
        return known->second;
    }
    bool ok = false;
    try {
        ok = process::run_command({probe.string()}, std::chrono::seconds(20)).status == 0;
    } catch (const process::ProcessError&) {
        ok = false;
    }
    memo[probe.string()] = ok;
    return ok;
}

bool program_exists(const std::string& name) {
    return program_version_line(name, default_cache_directory()).has_value();
}

} // namespace

Toolchain toolchain_for(const std::string& abi, const std::string& stack_backend) {
    Toolchain t;
    t.abi = abi;
    std::string default_backend;
    std::string package;
    if (abi == "host") {
        t.cc = "gcc";
        t.cxx = "g++";
        default_backend = "frame-pointer";
        package = "g++";
    } else if (abi == "ilp32") {
        // The x86 32-bit ABI: 4-byte pointers, size_t and bignum limbs, as on
        // the microcontrollers, natively runnable where the kernel allows.
        t.cc = "gcc";
        t.cxx = "g++";
        t.arch_flags = {"-m32"};
        // Without Debian's gcc-multilib metapackage (it conflicts with the
        // ARM cross compiler) <asm/...> for i386 is only in the host's
        // multiarch directory, whose asm headers serve i386 as well.
        if (!fs::exists("/usr/include/asm") && fs::exists("/usr/include/x86_64-linux-gnu/asm")) {
            t.arch_flags.insert(t.arch_flags.end(),
                                {"-idirafter", "/usr/include/x86_64-linux-gnu"});
        }
        default_backend = "frame-pointer";
        package = "g++-12-multilib";
    } else if (abi == "arm") {
        // 32-bit ARM (armhf, Thumb-2), cross-compiled and run under qemu-user.
        t.cc = "arm-linux-gnueabihf-gcc";
        t.cxx = "arm-linux-gnueabihf-g++";
        t.runner = {"qemu-arm", "-L", "/usr/arm-linux-gnueabihf"};
        // Thumb-2 code does not keep a frame-pointer chain; glibc's
        // backtrace() unwinds with the ARM exception tables instead.
        default_backend = "execinfo";
        package = "g++-arm-linux-gnueabihf";
    } else {
        throw BuildError("unknown ABI '" + abi + "' (host, ilp32, arm)");
    }
    t.link_libraries = {"-lpthread"};
    t.stack_backend = stack_backend.empty() ? default_backend : stack_backend;
    if (t.stack_backend == "frame-pointer") {
        if (abi == "arm") {
            throw BuildError(
                "stack backend frame-pointer is not available for ABI arm (use execinfo)");
        }
        t.stack_backend_source = "stack_capture_frame_pointer.cpp";
        t.codegen_flags = {"-fno-omit-frame-pointer"};
    } else if (t.stack_backend == "libunwind") {
        if (abi != "host") {
            throw BuildError("stack backend libunwind is only available for ABI host");
        }
        t.stack_backend_source = "stack_capture_libunwind.cpp";
        t.link_libraries.push_back("-lunwind");
    } else if (t.stack_backend == "execinfo") {
        t.stack_backend_source = "stack_capture_execinfo.cpp";
        // Unwind tables for C code too (the library), or backtrace() stops at the first C frame.
        t.codegen_flags = {"-funwind-tables"};
    } else {
        throw BuildError("unknown stack backend '" + t.stack_backend +
                         "' (frame-pointer, libunwind, execinfo)");
    }
    fs::path probe;
    if (!program_exists(t.cc) || !program_exists(t.cxx) || !toolchain_probe_cached(t, probe)) {
        throw BuildError("cannot build for ABI " + abi + " with " + t.cxx + " (install Debian's " +
                         package + ")");
    }
    std::string why_emulated;
    if (abi == "ilp32" && !runs_natively(probe)) {
        t.runner = {"qemu-i386"};
        why_emulated = "this kernel runs no 32-bit x86 programs (ia32 emulation is off) and ";
    }
    if (!t.runner.empty() && !program_exists(t.runner.front())) {
        throw BuildError("cannot run ABI " + abi + " programs: " + why_emulated + t.runner.front() +
                         " is missing (install Debian's qemu-user)");
    }
    return t;
}

std::string compiler_identity(const Toolchain& toolchain) {
    std::string id;
    for (const std::string& flag : toolchain.arch_flags) {
        id += flag + " ";
    }
    for (const std::string& compiler : {toolchain.cc, toolchain.cxx}) {
        id += program_version_line(compiler, default_cache_directory()).value_or("") + "\n";
    }
    return id;
}

} // namespace tlsheap::build
