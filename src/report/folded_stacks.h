// Folded stacks: one line per call stack, its frames from the outermost
// caller to the call site separated by ';', then the bytes
// ("main;mbedtls_ssl_handshake;...;mbedtls_x509_crt_parse_der 1234"). The
// input of flamegraph.pl, inferno and speedscope, as perf's stackcollapse
// scripts write it.
#pragma once

#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_info.h"

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace tlsheap::report {

// The frames of a stack, outermost first, one per inlined level. Levels inside
// the allocation shim and the platform layer's mbedtls_calloc are left out, so
// that the leaf is the call site (TraceInfo::call_site); a stack with no call
// site (unsymbolized, or outside mbedTLS) keeps every frame. A stack the trace
// does not describe is "[unknown]".
std::vector<std::string> folded_frames(const trace::TraceInfo& info, std::uint32_t stack);

// The bytes of each folded line, lines in byte order of their text. Stacks
// that fold to the same frames add up; stacks with no bytes are left out.
std::map<std::string, std::uint64_t> folded_lines(const trace::TraceInfo& info,
                                                  const std::vector<replay::StackBytes>& stacks);

void write_folded(std::ostream& out, const std::map<std::string, std::uint64_t>& lines);

} // namespace tlsheap::report
