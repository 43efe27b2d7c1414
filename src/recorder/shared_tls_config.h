// What every connection of a run shares, built once in SETUP: PSA, the DRBG,
// the CA chain, the own certificate and key, and the mbedtls_ssl_config that
// points at them (the trace's connection 0). Connections only read it; it
// must outlive every mbedtls_ssl_context set up from it.
#pragma once

#include "connection_result.h"
#include "mbedtls_compat.h"
#include "random_source.h"
#include "recorder_options.h"
#include "session_resumption.h"

#include <cstdint>
#include <mbedtls/ssl.h>
#include <vector>

#if defined(MBEDTLS_X509_CRT_PARSE_C)
#include <mbedtls/x509_crt.h>
#endif
#if defined(MBEDTLS_SSL_COOKIE_C)
#include <mbedtls/ssl_cookie.h>
#endif
#if defined(MBEDTLS_PK_C)
#include <mbedtls/pk.h>
#endif
#if !TLSHEAP_MBEDTLS_3 && defined(MBEDTLS_ECP_C)
#include <mbedtls/ecp.h>
#endif

namespace tlsheap::recorder {

class SharedTlsConfig {
  public:
    SharedTlsConfig();
    ~SharedTlsConfig() { free(); }
    SharedTlsConfig(const SharedTlsConfig&) = delete;
    SharedTlsConfig& operator=(const SharedTlsConfig&) = delete;

    // Initialises PSA, seeds the DRBG, parses the credentials `options` name
    // and configures the ssl_config, each as its own SETUP activity. On
    // failure fills `result` and returns false.
    bool build(const RecorderOptions& options, ConnectionResult& result);
    // Frees everything, in the order an application tears down. Safe to call twice.
    void free();

    const mbedtls_ssl_config* config() const { return &conf_; }
    // The session kept for resumption (client) or the cache and ticket keys
    // (server): shared, and changed as connections run.
    SessionResumption& resumption() { return resumption_; }

  private:
    bool parse_credentials(const RecorderOptions& options, ConnectionResult& result);
    bool configure(const RecorderOptions& options, ConnectionResult& result);
    bool configure_datagram(const RecorderOptions& options, ConnectionResult& result);

    RandomSource rng_;
    mbedtls_ssl_config conf_;
    SessionResumption resumption_;
#if defined(MBEDTLS_X509_CRT_PARSE_C)
    mbedtls_x509_crt ca_;
    mbedtls_x509_crt own_cert_;
#endif
#if defined(MBEDTLS_PK_C)
    mbedtls_pk_context own_key_;
#endif
    // Lists the ssl_config points into: they live as long as it does.
    std::vector<int> ciphersuites_;
#if TLSHEAP_MBEDTLS_3
    std::vector<std::uint16_t> groups_;
#elif defined(MBEDTLS_ECP_C)
    std::vector<mbedtls_ecp_group_id> curves_;
#endif
    std::vector<unsigned char> psk_;
#if defined(MBEDTLS_SSL_COOKIE_C)
    mbedtls_ssl_cookie_ctx cookie_;
#endif
    bool freed_ = false;
};

} // namespace tlsheap::recorder
