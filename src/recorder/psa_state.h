#pragma once

namespace tlsheap::recorder {

// Frees PSA's state (mbedtls_psa_crypto_free), whoever initialized it, so
// that the next psa_crypto_init is recorded again.
void free_psa_state();

} // namespace tlsheap::recorder
