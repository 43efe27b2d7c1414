// The mbedTLS functions that called a call site, for reports that name a site
// together with how it was reached.
#pragma once

#include "tlsheap/trace_info.h"

#include <cstdint>
#include <string>

namespace tlsheap::report {

// "ecp_mul_comb <- mbedtls_ecp_mul_restartable": the mbedTLS functions that
// called the call site, innermost first, up to `depth` distinct names.
std::string caller_chain(const trace::TraceInfo& info, std::uint32_t stack, unsigned depth);

} // namespace tlsheap::report
