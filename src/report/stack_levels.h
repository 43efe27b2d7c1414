// A recorded call stack as the viewers show it: one entry per inlined level,
// from the call site that asked for the memory outwards.
#pragma once

#include "tlsheap/trace_info.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tlsheap::report {

struct StackLevel {
    std::uint64_t address = 0; // the frame's return address (every inlined level shares it)
    bool symbolized = false;   // false: `function` is the raw name ("libx.so+0x1f0", "0x...")
    std::string function;
    std::string file;
    std::uint32_t line = 0;
};

// The levels of a stack, innermost first. Levels inside the allocation shim
// and the platform layer's mbedtls_calloc are left out, so that the first is
// the call site (TraceInfo::call_site); a stack with no call site
// (unsymbolized, or outside mbedTLS) keeps every level. Empty for a stack the
// trace does not describe.
std::vector<StackLevel> call_site_levels(const trace::TraceInfo& info, std::uint32_t stack);

// Text from the trace, which may come from someone else, made safe for a
// line-oriented viewer format: every control byte and every byte in
// `also_unsafe` becomes '?'; empty text is "??".
std::string safe_frame_text(const std::string& text, const char* also_unsafe);

} // namespace tlsheap::report
