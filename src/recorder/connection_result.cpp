#include "connection_result.h"

#include "credentials.h"
#include "deterministic_entropy.h"
#include "recording.h"
#include "variant_info.h"

namespace tlsheap::recorder {

bool report_failure(ConnectionResult& result, ConnectionStatus status, int ret, int state,
                    const std::string& error) {
    result.status = status;
    result.error = error;
    result.ret = ret;
    result.state = state;
    Recording::instance().outcome(trace::OutcomeKind::Failure, ret, state, result.error);
    return false;
}

bool report_usage(ConnectionResult& result, int state, const std::string& error) {
    return report_failure(result, ConnectionStatus::Usage, -1, state, error);
}

std::string describe_tls_failure(int ret, int state, const char* doing) {
    std::string text = std::string(doing) + " failed in state " + state_name(state) + ": " +
                       describe_mbedtls_error(ret);
#if defined(MBEDTLS_PSA_CRYPTO_C) && !defined(MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG) &&                  \
    defined(TLSHEAP_NO_STRONG_ENTROPY_SOURCE)
    // psa_crypto_init's PSA_ERROR_INSUFFICIENT_ENTROPY reaches TLS as a
    // generic error; on the device the same config fails the same way.
    if (ret == -0x0001) {
        text += " (PSA has no entropy source in this config: MBEDTLS_NO_PLATFORM_ENTROPY without "
                "MBEDTLS_ENTROPY_HARDWARE_ALT, MBEDTLS_ENTROPY_NV_SEED or "
                "MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG, so psa_crypto_init fails)";
    }
#endif
    return text;
}

std::string state_name(int state) {
    for (unsigned i = 0; i < kStateNameCount; ++i) {
        if (kStateNames[i].id == state) {
            return kStateNames[i].name;
        }
    }
    return "state " + std::to_string(state);
}

} // namespace tlsheap::recorder
