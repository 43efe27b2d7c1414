// The description records every trace of a variant opens with, whoever
// records it (the recorder's driver or a user's program linked with an
// exported variant): tlsheap and mbedTLS versions, the variant and its ABI,
// the record buffers as the library computes them, the effective config,
// the handshake state names and the loaded modules.
#pragma once

namespace tlsheap::recorder {

class Recording;

// `mbedtls_version`: the library's, which is the headers' except where a
// program loads mbedTLS as a shared library (the preload shim asks it).
void describe_variant(Recording& r, const char* mbedtls_version);

} // namespace tlsheap::recorder
