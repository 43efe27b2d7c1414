// One TLS connection: its mbedtls_ssl_context, set up from a SharedTlsConfig,
// and the socket under it with the transport tap that reports its records.
// Knows what the connection's state means when something fails; what is said
// over it is connection_exchange.h's business.
#pragma once

#include "connection_result.h"
#include "mbedtls_compat.h"
#include "recorder_options.h"
#include "socket_transport.h"
#include "transport_tap.h"

#include <cstdint>
#include <mbedtls/ssl.h>

namespace tlsheap::recorder {

class SharedTlsConfig;

class TlsConnection {
  public:
    // `id`: the connection's number in the trace (trace::kFirstConnection..).
    TlsConnection(const RecorderOptions& options, std::uint32_t id);
    ~TlsConnection() { free(); }
    TlsConnection(const TlsConnection&) = delete;
    TlsConnection& operator=(const TlsConnection&) = delete;

    // SETUP, the connection's share: mbedtls_ssl_setup (and the server name
    // a client verifies). On failure fills `result` and returns false.
    bool setup(const SharedTlsConfig& shared, ConnectionResult& result);
    // Connects (client) or accepts one connection from `listener` (server),
    // then gives the socket to the context. Not on the heap profile: sockets
    // live outside mbedTLS.
    bool open(Listener* listener, ConnectionResult& result);
    // Frees the context and closes the socket. Safe to call twice.
    void free();

    std::uint32_t id() const { return id_; }
    SocketTransport& transport() { return transport_; }
    mbedtls_ssl_context* ssl() { return &ssl_; }
    int state() const { return ssl_.MBEDTLS_PRIVATE(state); }
    bool is_client() const { return o_.mode == Mode::Client; }
    // Whether a kept session was given to this connection before its handshake.
    void mark_session_offered() { session_offered_ = true; }
    bool session_offered() const { return session_offered_; }
    const RecorderOptions& options() const { return o_; }

    // Marks the record buffers in the trace when mbedTLS (re)allocates them;
    // called after every step that may have.
    void note_buffers();

    // DTLS server: after a HelloVerifyRequest, mbedtls_ssl_session_reset
    // and the client's address again (the client answers with its cookie
    // on the same connection). On failure fills `result` and returns false.
    bool reset_after_hello_verify(ConnectionResult& result);
    // DTLS: what the handshake outcome adds: the connection IDs, a
    // HelloVerifyRequest, retransmissions ("" for TLS).
    std::string datagram_summary();

    // Fills `result` with what went wrong, in terms a user can act on
    // (timeout, peer closed, record too large for the buffer, certificate
    // verification), records the outcome, and returns false.
    bool failed(int ret, int in_state, const char* doing, ConnectionResult& result);

  private:
    static void on_tls_record(const ObservedRecord& record, void* self);
    bool set_client_transport_id(ConnectionResult& result);

    const RecorderOptions& o_;
    std::uint32_t id_;
    TransportTap tap_;
    SocketTransport transport_;
    mbedtls_ssl_context ssl_;
    unsigned char* last_in_ = nullptr;
    unsigned char* last_out_ = nullptr;
    unsigned long largest_in_record_ = 0;
    unsigned hello_verify_requests_ = 0; // received (client) or sent (server)
    unsigned char own_cid_[32] = {};
    bool session_offered_ = false;
    bool freed_ = false;
};

} // namespace tlsheap::recorder
