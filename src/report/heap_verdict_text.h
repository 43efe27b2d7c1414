// A device heap verdict (replay::HeapVerdict) in the user's words, one line,
// the way a firmware engineer reads it off the serial console: "fails at
// allocation #1,234: 16,717 B requested by mbedtls_ssl_setup (conn 2, SETUP),
// 21,040 B free, largest free block 16,372 B". The terminal report and the
// JSON document print the same sentence.
#pragma once

#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_info.h"

#include <string>

namespace tlsheap::report {

// "fits: ..." or "fails at allocation #k: ...", without the model's name.
std::string heap_verdict_text(const trace::TraceInfo& info, const replay::HeapVerdict& verdict);

// "conn 2, HANDSHAKE SERVER_CERTIFICATE, by x509_crt_parse_der_core": where an
// allocation of a heap verdict happened.
std::string heap_moment_place(const trace::TraceInfo& info, const replay::Moment& at);

} // namespace tlsheap::report
