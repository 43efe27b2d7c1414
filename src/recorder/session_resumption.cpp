#include "session_resumption.h"

#include "activity_scope.h"
#include "random_source.h"
#include "recording.h"
#include "tls_connection.h"

#include <string>

namespace tlsheap::recorder {

namespace {

// Before any connection exists, failures are reported in the state a fresh
// mbedtls_ssl_context starts in.
constexpr int kNoConnectionState = MBEDTLS_SSL_HELLO_REQUEST;

[[maybe_unused]] bool lacks(ConnectionResult& result, const std::string& what) {
    return report_usage(result, kNoConnectionState,
                        std::string("--resume ") + what + ", which this variant lacks");
}

// How long a server accepts its tickets and cached sessions: longer than any
// recording, so that none expires mid-run (the clock may be fixed anyway).
constexpr unsigned kLifetimeSeconds = 86400;

} // namespace

SessionResumption::SessionResumption() {
#if defined(MBEDTLS_SSL_CLI_C)
    mbedtls_ssl_session_init(&session_);
#endif
#if defined(MBEDTLS_SSL_CACHE_C)
    mbedtls_ssl_cache_init(&cache_);
#endif
#if defined(MBEDTLS_SSL_TICKET_C)
    mbedtls_ssl_ticket_init(&ticket_);
#endif
}

bool SessionResumption::configure(mbedtls_ssl_config* conf, const RecorderOptions& options,
                                  [[maybe_unused]] RandomSource& rng, ConnectionResult& result) {
    mode_ = options.lifecycle.resume;
    if (options.lifecycle.early_data && !configure_early_data(conf, options, result)) {
        return false;
    }
    if (mode_ == lifecycle::Resume::None) {
        return true;
    }
    const bool client = options.mode == Mode::Client;
    if (mode_ == lifecycle::Resume::SessionId && options.min_version == "tls1.3") {
        return report_usage(result, kNoConnectionState,
                            "--resume session-id needs TLS 1.2: TLS 1.3 resumes with tickets only "
                            "(--resume ticket)");
    }
    if (mode_ == lifecycle::Resume::SessionId) {
        if (client) {
            // Ask for no ticket, so that only the server's cache can resume.
#if defined(MBEDTLS_SSL_SESSION_TICKETS) && defined(MBEDTLS_SSL_CLI_C)
            mbedtls_ssl_conf_session_tickets(conf, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
#endif
            return true;
        }
#if defined(MBEDTLS_SSL_CACHE_C) && defined(MBEDTLS_SSL_SRV_C)
        mbedtls_ssl_cache_set_timeout(&cache_, kLifetimeSeconds);
        mbedtls_ssl_conf_session_cache(conf, &cache_, mbedtls_ssl_cache_get, mbedtls_ssl_cache_set);
        return true;
#else
        return lacks(result, "session-id needs MBEDTLS_SSL_CACHE_C on the server");
#endif
    }
    // Tickets.
#if !defined(MBEDTLS_SSL_SESSION_TICKETS)
    return lacks(result, "ticket needs MBEDTLS_SSL_SESSION_TICKETS");
#else
    if (client) {
#if defined(MBEDTLS_SSL_CLI_C)
        mbedtls_ssl_conf_session_tickets(conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
#endif
        // Declared only with TLS 1.3 and the client side compiled in.
#if defined(MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED) &&                              \
    defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_CLI_C)
        // 3.6.1 and later ignore TLS 1.3 NewSessionTicket unless asked to
        // hand them over (mbedtls/ssl.h); ConnectionExchange keeps the first.
        mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
            conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#endif
        return true;
    }
#if defined(MBEDTLS_SSL_TICKET_C) && defined(MBEDTLS_SSL_SRV_C) &&                                 \
    (defined(MBEDTLS_GCM_C) || defined(MBEDTLS_CCM_C))
#if defined(MBEDTLS_GCM_C)
    const mbedtls_cipher_type_t cipher = MBEDTLS_CIPHER_AES_256_GCM;
#else
    const mbedtls_cipher_type_t cipher = MBEDTLS_CIPHER_AES_128_CCM;
#endif
    // The ticket keys come from the run's DRBG, seeded from the fixed seed:
    // two runs issue the same tickets.
    const int ret =
        mbedtls_ssl_ticket_setup(&ticket_, &RandomSource::random, &rng, cipher, kLifetimeSeconds);
    if (ret != 0) {
        return report_failure(
            result, ConnectionStatus::TlsFailure, ret, kNoConnectionState,
            describe_tls_failure(ret, kNoConnectionState, "mbedtls_ssl_ticket_setup"));
    }
    mbedtls_ssl_conf_session_tickets_cb(conf, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse,
                                        &ticket_);
    return true;
#else
    return lacks(result, "ticket needs MBEDTLS_SSL_TICKET_C and GCM or CCM on the server");
#endif
#endif
}

bool SessionResumption::configure_early_data([[maybe_unused]] mbedtls_ssl_config* conf,
                                             const RecorderOptions& options,
                                             ConnectionResult& result) {
    if (options.lifecycle.resume != lifecycle::Resume::Ticket || options.min_version != "tls1.3") {
        return report_usage(result, kNoConnectionState,
                            "--early-data needs TLS 1.3 and --resume ticket: 0-RTT data rides on "
                            "a resumed TLS 1.3 session");
    }
#if defined(MBEDTLS_SSL_EARLY_DATA)
    // A server also writes the early_data extension into its tickets, with
    // the MBEDTLS_SSL_MAX_EARLY_DATA_SIZE of the variant's config.
    mbedtls_ssl_conf_early_data(conf, MBEDTLS_SSL_EARLY_DATA_ENABLED);
    return true;
#else
    return report_usage(result, kNoConnectionState,
                        "--early-data needs MBEDTLS_SSL_EARLY_DATA, which this variant lacks");
#endif
}

bool SessionResumption::offer([[maybe_unused]] TlsConnection& c,
                              [[maybe_unused]] ConnectionResult& result) {
#if defined(MBEDTLS_SSL_CLI_C)
    if (!kept_ || !c.is_client()) {
        return true;
    }
    ActivityScope a(Recording::instance(), "ssl_set_session");
    const int ret = mbedtls_ssl_set_session(c.ssl(), &session_);
    if (ret != 0) {
        return c.failed(ret, c.state(), "mbedtls_ssl_set_session", result);
    }
    c.mark_session_offered();
#endif
    return true;
}

void SessionResumption::keep([[maybe_unused]] TlsConnection& c) {
#if defined(MBEDTLS_SSL_CLI_C)
    if (!active() || kept_ || !c.is_client()) {
        return;
    }
    // The session outlives the connection that made it: what every later
    // connection shares, freed with the rest of connection 0.
    Recording& r = Recording::instance();
    r.connection(trace::kSharedConnection);
    {
        ActivityScope a(r, "ssl_get_session");
        kept_ = mbedtls_ssl_get_session(c.ssl(), &session_) == 0;
    }
    r.connection(c.id());
#endif
}

void SessionResumption::free() {
    if (freed_) {
        return;
    }
    freed_ = true;
#if defined(MBEDTLS_SSL_CLI_C)
    mbedtls_ssl_session_free(&session_);
#endif
#if defined(MBEDTLS_SSL_CACHE_C)
    mbedtls_ssl_cache_free(&cache_);
#endif
#if defined(MBEDTLS_SSL_TICKET_C)
    mbedtls_ssl_ticket_free(&ticket_);
#endif
}

} // namespace tlsheap::recorder
