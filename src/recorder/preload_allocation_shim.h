// The preload shim's side of a program that loads mbedTLS as shared
// libraries (built with TLSHEAP_PRELOAD; see preload_allocation_shim.cpp).
#pragma once

namespace tlsheap::recorder {

// The version of the mbedTLS the program loaded, when the shim's headers
// describe it (same major.minor.patch: its SSL structures are the shim's);
// otherwise nullptr, with one line on stderr that says why.
const char* shared_mbedtls_version();

// Finds the code of the libmbedtls/libmbedx509/libmbedcrypto shared objects
// loaded now: from then on, calloc and free called from that code are
// recorded. False, with one line on stderr, when there are none or another
// preloaded library's calloc is the one they call.
bool watch_shared_mbedtls();

// Takes the shim out of LD_PRELOAD: the programs this one runs are not
// recorded and need not load it.
void forget_preload();

} // namespace tlsheap::recorder
