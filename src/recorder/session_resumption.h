// Session resumption across the connections of one run (docs/scenarios.md,
// "resume"). A client keeps the session of its first connection and offers
// it to every later one, as a device does on reconnect; a server keeps a
// session cache (session-id) or ticket keys (ticket). All of it is what the
// connections share, so it lives with SharedTlsConfig and its memory belongs
// to connection 0 (docs/trace-format.md, "Resumed").
#pragma once

#include "connection_result.h"
#include "mbedtls_compat.h"
#include "recorder_options.h"

#include <mbedtls/ssl.h>

#if defined(MBEDTLS_SSL_CACHE_C)
#include <mbedtls/ssl_cache.h>
#endif
#if defined(MBEDTLS_SSL_TICKET_C)
#include <mbedtls/ssl_ticket.h>
#endif

namespace tlsheap::recorder {

class RandomSource;
class TlsConnection;

class SessionResumption {
  public:
    SessionResumption();
    ~SessionResumption() { free(); }
    SessionResumption(const SessionResumption&) = delete;
    SessionResumption& operator=(const SessionResumption&) = delete;

    // Sets up `conf` for the mode `options` asks for: nothing for none. On
    // a variant that cannot resume that way, fills `result` and returns false.
    bool configure(mbedtls_ssl_config* conf, const RecorderOptions& options, RandomSource& rng,
                   ConnectionResult& result);
    bool active() const { return mode_ != lifecycle::Resume::None; }
    lifecycle::Resume mode() const { return mode_; }

    // Client, before a handshake: gives `c` the kept session, if there is
    // one. Returns false (with `result` filled) when mbedTLS refuses it.
    bool offer(TlsConnection& c, ConnectionResult& result);
    // Client, once `c`'s session can be resumed (TLS 1.2: after the
    // handshake; TLS 1.3: when a NewSessionTicket arrived): keeps it if
    // no session is kept yet. Its memory is connection 0's.
    void keep(TlsConnection& c);

    // Frees the kept session, the cache and the ticket keys. Safe to call twice.
    void free();

  private:
    // --early-data: the config sends (client) or accepts (server) 0-RTT data.
    bool configure_early_data(mbedtls_ssl_config* conf, const RecorderOptions& options,
                              ConnectionResult& result);

    lifecycle::Resume mode_ = lifecycle::Resume::None;
    bool kept_ = false;
    bool freed_ = false;
#if defined(MBEDTLS_SSL_CLI_C)
    mbedtls_ssl_session session_;
#endif
#if defined(MBEDTLS_SSL_CACHE_C)
    mbedtls_ssl_cache_context cache_;
#endif
#if defined(MBEDTLS_SSL_TICKET_C)
    mbedtls_ssl_ticket_context ticket_;
#endif
};

} // namespace tlsheap::recorder
