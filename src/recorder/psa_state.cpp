// psa_crypto_init sets up state of the whole process (the key slots, PSA's
// own entropy context and DRBG) that outlives the connection during which it
// may happen: mbedTLS 3.6's TLS 1.3 code calls it itself when a hello is
// written or read (mbedtls_ssl_tls13_crypto_init). The variant is linked with
// --wrap=psa_crypto_init, so whoever calls it first, its allocations are
// recorded as the shared part's, inside an activity that names it, at the
// moment they happen. Recorded as the connection's, a reconnect cycle would
// seem to leak them.
#include "psa_state.h"

#include "mbedtls_compat.h"

#if defined(MBEDTLS_PSA_CRYPTO_C)
#include "activity_scope.h"
#include "hooked_call.h"
#include "recording.h"

#include <cstdint>
#include <psa/crypto.h>

#if !defined(TLSHEAP_PRELOAD)
extern "C" {
psa_status_t __real_psa_crypto_init(void);
psa_status_t __wrap_psa_crypto_init(void);
}
#endif

namespace {
bool g_initialized = false;
} // namespace

psa_status_t TLSHEAP_HOOK(psa_crypto_init)(void) {
    if (g_initialized) {
        return TLSHEAP_REAL(psa_crypto_init)();
    }
    using tlsheap::recorder::Recording;
    Recording& r = Recording::instance();
    const std::uint32_t connection = r.current_connection();
    r.connection(tlsheap::trace::kSharedConnection);
    psa_status_t status = PSA_ERROR_GENERIC_ERROR;
    {
        tlsheap::recorder::ActivityScope a(r, "psa_crypto_init");
        status = TLSHEAP_REAL(psa_crypto_init)();
    }
    r.connection(connection);
    g_initialized = status == PSA_SUCCESS;
    return status;
}

#if !defined(TLSHEAP_PRELOAD)
void tlsheap::recorder::free_psa_state() {
    // As ssl_client2 does at exit; harmless when nothing initialized PSA.
    mbedtls_psa_crypto_free();
    g_initialized = false;
}
#endif

#else

void tlsheap::recorder::free_psa_state() {}

#endif
