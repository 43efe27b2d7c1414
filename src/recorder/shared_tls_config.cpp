#include "shared_tls_config.h"

#include "activity_scope.h"
#include "credentials.h"
#include "psa_state.h"
#include "recording.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/trace_meta.h"

#include <string>

#if defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

extern "C" {
extern const unsigned long tlsheap_ssl_in_content_len;
}

namespace tlsheap::recorder {

namespace {

// Before any connection exists, failures are reported in the state a fresh
// mbedtls_ssl_context starts in.
constexpr int kNoConnectionState = MBEDTLS_SSL_HELLO_REQUEST;

bool usage(ConnectionResult& result, const std::string& error) {
    return report_usage(result, kNoConnectionState, error);
}

// A credential that does not load is the user's to mend, and mbedTLS's
// error (an out-of-memory one under `tlsheap oom`) is kept with it; -1: the
// file could not be read.
[[maybe_unused]] bool credential_failed(ConnectionResult& result, int ret,
                                        const std::string& error) {
    return report_failure(result, ConnectionStatus::Usage, ret, kNoConnectionState, error);
}

// As mbedTLS's ssl_client2 and mini_client decide (3.6): an application
// calls psa_crypto_init when the TLS layer uses PSA (MBEDTLS_USE_PSA_CRYPTO);
// a TLS 1.3 handshake calls it itself (mbedtls_ssl_tls13_crypto_init).
bool wants_psa_init(trace::meta::PsaInit policy) {
    switch (policy) {
    case trace::meta::PsaInit::Always:
        return true;
    case trace::meta::PsaInit::Never:
        return false;
    case trace::meta::PsaInit::Auto:
        break;
    }
#if defined(MBEDTLS_PSA_CRYPTO_C) && defined(MBEDTLS_USE_PSA_CRYPTO)
    return true;
#else
    return false;
#endif
}

bool tls_failed(ConnectionResult& result, int ret, const char* doing) {
    return report_failure(result, ConnectionStatus::TlsFailure, ret, kNoConnectionState,
                          describe_tls_failure(ret, kNoConnectionState, doing));
}

// The maximum fragment length a client asks for (0: none), per --max-fragment.
[[maybe_unused]] unsigned long chosen_max_fragment(long option) {
    if (option < 0) {
        return 0;
    }
    if (option > 0) {
        return static_cast<unsigned long>(option);
    }
    return static_cast<unsigned long>(tls::max_fragment_length_for(tlsheap_ssl_in_content_len));
}

std::uint16_t iana_group(const std::string& name) {
    struct Entry {
        const char* name;
        std::uint16_t id;
    };
    // IANA TLS Supported Groups registry.
    static const Entry groups[] = {
        {"secp256r1", 23},
        {"secp384r1", 24},
        {"secp521r1", 25},
        {"x25519", 29},
        {"x448", 30},
        {"brainpoolP256r1", 26},
        {"brainpoolP384r1", 27},
        {"brainpoolP512r1", 28},
        {"ffdhe2048", 256},
        {"ffdhe3072", 257},
        {"ffdhe4096", 258},
    };
    for (const Entry& e : groups) {
        if (name == e.name) {
            return e.id;
        }
    }
    return 0;
}

} // namespace

SharedTlsConfig::SharedTlsConfig() {
    mbedtls_ssl_config_init(&conf_);
#if defined(MBEDTLS_X509_CRT_PARSE_C)
    mbedtls_x509_crt_init(&ca_);
    mbedtls_x509_crt_init(&own_cert_);
#endif
#if defined(MBEDTLS_PK_C)
    mbedtls_pk_init(&own_key_);
#endif
#if defined(MBEDTLS_SSL_COOKIE_C)
    mbedtls_ssl_cookie_init(&cookie_);
#endif
}

bool SharedTlsConfig::build(const RecorderOptions& options, ConnectionResult& result) {
    Recording& r = Recording::instance();
    if (wants_psa_init(options.psa_init)) {
#if defined(MBEDTLS_PSA_CRYPTO_C)
        // Marked as an activity by its wrapper (psa_state.cpp).
        const psa_status_t status = psa_crypto_init();
        if (status != PSA_SUCCESS) {
            return report_failure(result, ConnectionStatus::Usage, status, kNoConnectionState,
                                  "psa_crypto_init failed with status " + std::to_string(status));
        }
#else
        return usage(result, "psa_init always needs MBEDTLS_PSA_CRYPTO_C, which this "
                             "configuration does not define");
#endif
    }
    {
        ActivityScope a(r, "drbg_seed");
        const int ret = rng_.seed();
        if (ret != 0) {
            return tls_failed(result, ret, "seeding the DRBG");
        }
    }
    if (!parse_credentials(options, result)) {
        return false;
    }
    ActivityScope a(r, "ssl_config");
    return configure(options, result);
}

bool SharedTlsConfig::parse_credentials(const RecorderOptions& options, ConnectionResult& result) {
    Recording& r = Recording::instance();
    std::string error;
#if defined(MBEDTLS_X509_CRT_PARSE_C)
    if (!options.ca_files.empty()) {
        ActivityScope a(r, "ca_chain_parse");
        for (const std::string& file : options.ca_files) {
            if (const int ret = parse_certificates(&ca_, file, error); ret != 0) {
                return credential_failed(result, ret, error);
            }
        }
    }
    if (!options.cert_files.empty()) {
        ActivityScope a(r, "own_cert_parse");
        for (const std::string& file : options.cert_files) {
            if (const int ret = parse_certificates(&own_cert_, file, error); ret != 0) {
                return credential_failed(result, ret, error);
            }
        }
    }
#else
    if (!options.ca_files.empty() || !options.cert_files.empty()) {
        return usage(result,
                     "certificates need MBEDTLS_X509_CRT_PARSE_C, which this variant lacks");
    }
#endif
    if (!options.key_file.empty()) {
#if defined(MBEDTLS_PK_PARSE_C)
        ActivityScope a(r, "own_key_parse");
        if (const int ret =
                parse_private_key(&own_key_, options.key_file, &RandomSource::random, &rng_, error);
            ret != 0) {
            return credential_failed(result, ret, error);
        }
#else
        return usage(result, "private keys need MBEDTLS_PK_PARSE_C, which this variant lacks");
#endif
    }
    (void)r;
    return true;
}

// The ssl_config a real application of this scenario would build: side,
// versions, ciphersuites, groups, fragment length, who verifies whom, and
// the credentials or PSK.
bool SharedTlsConfig::configure(const RecorderOptions& options, ConnectionResult& result) {
    const bool client = options.mode == Mode::Client;
#if !defined(MBEDTLS_SSL_PROTO_DTLS)
    if (options.datagram) {
        return usage(result, "DTLS needs MBEDTLS_SSL_PROTO_DTLS, which this variant lacks");
    }
#endif
    int ret = mbedtls_ssl_config_defaults(
        &conf_, client ? MBEDTLS_SSL_IS_CLIENT : MBEDTLS_SSL_IS_SERVER,
        options.datagram ? MBEDTLS_SSL_TRANSPORT_DATAGRAM : MBEDTLS_SSL_TRANSPORT_STREAM,
        MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        return tls_failed(result, ret, "mbedtls_ssl_config_defaults");
    }
    mbedtls_ssl_conf_rng(&conf_, &RandomSource::random, &rng_);
    if (options.datagram && !configure_datagram(options, result)) {
        return false;
    }

#if TLSHEAP_MBEDTLS_3
    const bool want13_min = options.min_version == "tls1.3";
    [[maybe_unused]] const bool want13_max = options.max_version == "tls1.3";
#if !defined(MBEDTLS_SSL_PROTO_TLS1_3)
    if (want13_min) {
        return usage(result, "TLS 1.3 needs MBEDTLS_SSL_PROTO_TLS1_3, which this variant lacks");
    }
#endif
#if !defined(MBEDTLS_SSL_PROTO_TLS1_2)
    if (!want13_max) {
        return usage(result, "TLS 1.2 needs MBEDTLS_SSL_PROTO_TLS1_2, which this variant lacks");
    }
#endif
    mbedtls_ssl_conf_min_tls_version(&conf_, want13_min ? MBEDTLS_SSL_VERSION_TLS1_3
                                                        : MBEDTLS_SSL_VERSION_TLS1_2);
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    mbedtls_ssl_conf_max_tls_version(&conf_, want13_max ? MBEDTLS_SSL_VERSION_TLS1_3
                                                        : MBEDTLS_SSL_VERSION_TLS1_2);
#else
    mbedtls_ssl_conf_max_tls_version(&conf_, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
#else
    if (options.min_version == "tls1.3") {
        return usage(result, "mbedTLS " MBEDTLS_VERSION_STRING " has no TLS 1.3 support");
    }
    mbedtls_ssl_conf_min_version(&conf_, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(&conf_, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif

    if (!options.ciphersuites.empty()) {
        for (const std::string& name : options.ciphersuites) {
            const int id = mbedtls_ssl_get_ciphersuite_id(name.c_str());
            if (id == 0) {
                return usage(result, "ciphersuite " + name + " is not available in this variant");
            }
            ciphersuites_.push_back(id);
        }
        ciphersuites_.push_back(0);
        mbedtls_ssl_conf_ciphersuites(&conf_, ciphersuites_.data());
    }

    if (!options.groups.empty()) {
        for (const std::string& name : options.groups) {
            const std::uint16_t id = iana_group(name);
            if (id == 0) {
                return usage(result, "unknown group '" + name + "'");
            }
#if TLSHEAP_MBEDTLS_3
            groups_.push_back(id);
#elif defined(MBEDTLS_ECP_C)
            const mbedtls_ecp_curve_info* info = mbedtls_ecp_curve_info_from_tls_id(id);
            if (info == nullptr) {
                return usage(result, "group " + name + " is not available in this variant");
            }
            curves_.push_back(info->grp_id);
#else
            return usage(result, "groups need MBEDTLS_ECP_C, which this variant lacks");
#endif
        }
#if TLSHEAP_MBEDTLS_3
        groups_.push_back(0);
        mbedtls_ssl_conf_groups(&conf_, groups_.data());
#elif defined(MBEDTLS_ECP_C)
        curves_.push_back(MBEDTLS_ECP_DP_NONE);
        mbedtls_ssl_conf_curves(&conf_, curves_.data());
#endif
    }

#if defined(MBEDTLS_SSL_MAX_FRAGMENT_LENGTH)
    if (client) {
        const unsigned long mfl = chosen_max_fragment(options.max_fragment);
        const unsigned char code = mfl == 512    ? MBEDTLS_SSL_MAX_FRAG_LEN_512
                                   : mfl == 1024 ? MBEDTLS_SSL_MAX_FRAG_LEN_1024
                                   : mfl == 2048 ? MBEDTLS_SSL_MAX_FRAG_LEN_2048
                                   : mfl == 4096 ? MBEDTLS_SSL_MAX_FRAG_LEN_4096
                                                 : MBEDTLS_SSL_MAX_FRAG_LEN_NONE;
        ret = mbedtls_ssl_conf_max_frag_len(&conf_, code);
        if (ret != 0) {
            return tls_failed(result, ret, "mbedtls_ssl_conf_max_frag_len");
        }
        Recording::instance().meta(trace::meta::kSslMaxFragmentLengthRequested,
                                   std::to_string(mfl));
    }
#else
    if (options.max_fragment > 0) {
        return usage(
            result,
            "--max-fragment needs MBEDTLS_SSL_MAX_FRAGMENT_LENGTH, which this variant lacks");
    }
#endif

    // Who verifies whom: the client verifies the server unless told
    // otherwise; a server asks for a client certificate when it has a CA.
    int authmode = MBEDTLS_SSL_VERIFY_NONE;
    if (options.auth == "required") {
        authmode = MBEDTLS_SSL_VERIFY_REQUIRED;
    } else if (options.auth == "optional") {
        authmode = MBEDTLS_SSL_VERIFY_OPTIONAL;
    }
    mbedtls_ssl_conf_authmode(&conf_, authmode);
#if defined(MBEDTLS_X509_CRT_PARSE_C)
    if (!options.ca_files.empty()) {
        mbedtls_ssl_conf_ca_chain(&conf_, &ca_, nullptr);
    }
    if (!options.cert_files.empty()) {
        ret = mbedtls_ssl_conf_own_cert(&conf_, &own_cert_, &own_key_);
        if (ret != 0) {
            return tls_failed(result, ret, "mbedtls_ssl_conf_own_cert");
        }
    }
#endif
    if (!options.psk_hex.empty()) {
        if (!hex_decode(options.psk_hex, psk_)) {
            return usage(result, "--psk must be hex");
        }
#if (TLSHEAP_MBEDTLS_3 && defined(MBEDTLS_SSL_HANDSHAKE_WITH_PSK_ENABLED)) ||                      \
    (!TLSHEAP_MBEDTLS_3 && defined(MBEDTLS_KEY_EXCHANGE_SOME_PSK_ENABLED))
        ret = mbedtls_ssl_conf_psk(
            &conf_, psk_.data(), psk_.size(),
            reinterpret_cast<const unsigned char*>(options.psk_identity.data()),
            options.psk_identity.size());
        if (ret != 0) {
            return tls_failed(result, ret, "mbedtls_ssl_conf_psk");
        }
#else
        return usage(result, "PSK needs a PSK key exchange, which this variant lacks");
#endif
    }
    return resumption_.configure(&conf_, options, rng_, result);
}

// DTLS: the connection ID length both sides use, and on a server the
// HelloVerifyRequest cookies (or none).
bool SharedTlsConfig::configure_datagram(const RecorderOptions& options, ConnectionResult& result) {
    if (options.min_version == "tls1.3") {
        return usage(result, "mbedTLS has no DTLS 1.3: DTLS scenarios are DTLS 1.2");
    }
    if (options.cid_bytes >= 0) {
#if defined(MBEDTLS_SSL_DTLS_CONNECTION_ID)
        const int ret = mbedtls_ssl_conf_cid(&conf_, static_cast<std::size_t>(options.cid_bytes),
                                             MBEDTLS_SSL_UNEXPECTED_CID_IGNORE);
        if (ret != 0) {
            return tls_failed(result, ret, "mbedtls_ssl_conf_cid");
        }
#else
        return usage(result,
                     "--cid needs MBEDTLS_SSL_DTLS_CONNECTION_ID, which this variant lacks");
#endif
    }
    if (options.mode != Mode::Server) {
        return true;
    }
#if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY) && defined(MBEDTLS_SSL_SRV_C)
    if (!options.cookies) {
        // config_defaults installs cookie functions that always fail: none.
        mbedtls_ssl_conf_dtls_cookies(&conf_, nullptr, nullptr, nullptr);
        return true;
    }
#else
    if (!options.cookies) {
        return true;
    }
#endif
#if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY) && defined(MBEDTLS_SSL_SRV_C) &&                        \
    defined(MBEDTLS_SSL_COOKIE_C)
    ActivityScope a(Recording::instance(), "dtls_cookie_setup");
    const int ret = mbedtls_ssl_cookie_setup(&cookie_, &RandomSource::random, &rng_);
    if (ret != 0) {
        return tls_failed(result, ret, "mbedtls_ssl_cookie_setup");
    }
    mbedtls_ssl_conf_dtls_cookies(&conf_, mbedtls_ssl_cookie_write, mbedtls_ssl_cookie_check,
                                  &cookie_);
    return true;
#else
    return usage(result, "--cookies needs MBEDTLS_SSL_DTLS_HELLO_VERIFY and MBEDTLS_SSL_COOKIE_C, "
                         "which this variant lacks");
#endif
}

void SharedTlsConfig::free() {
    if (freed_) {
        return;
    }
    freed_ = true;
    mbedtls_ssl_config_free(&conf_);
#if defined(MBEDTLS_SSL_COOKIE_C)
    mbedtls_ssl_cookie_free(&cookie_);
#endif
    resumption_.free();
#if defined(MBEDTLS_X509_CRT_PARSE_C)
    mbedtls_x509_crt_free(&own_cert_);
    mbedtls_x509_crt_free(&ca_);
#endif
#if defined(MBEDTLS_PK_C)
    mbedtls_pk_free(&own_key_);
#endif
    rng_.release();
    free_psa_state();
}

} // namespace tlsheap::recorder
