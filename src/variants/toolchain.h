// How to compile for one ABI: which compilers, which flags, which stack
// capture backend, how to run the result. `host` builds natively; `ilp32`
// (-m32) and `arm` (cross-compiled, run under qemu-user) give the pointer and
// size_t widths of the microcontrollers tlsheap's users target.
#pragma once

#include <string>
#include <vector>

namespace tlsheap::build {

struct Toolchain {
    std::string abi; // "host", "ilp32", "arm"
    std::string cc;
    std::string cxx;
    std::vector<std::string> arch_flags;
    // How the recorder captures call stacks, and what that asks of the code
    // generation (frame pointers) and the link (libraries).
    std::string stack_backend;        // "frame-pointer", "libunwind", "execinfo"
    std::string stack_backend_source; // file in src/recorder
    std::vector<std::string> codegen_flags;
    std::vector<std::string> link_libraries;
    // Prefix to run a built program ("qemu-arm -L /usr/arm-linux-gnueabihf"), empty natively;
    // "qemu-i386" for ilp32 on a kernel that runs no 32-bit x86 programs.
    std::vector<std::string> runner;
};

// `stack_backend` "" picks the ABI's default (frame pointers where the ABI
// links frames through one, as x86 does). Throws BuildError naming the Debian
// package to install when the ABI's compiler is missing, or an unknown
// ABI/backend.
Toolchain toolchain_for(const std::string& abi, const std::string& stack_backend = {});

// The compiler's own version line, part of every cache key.
std::string compiler_identity(const Toolchain& toolchain);

} // namespace tlsheap::build
