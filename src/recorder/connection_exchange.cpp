#include "connection_exchange.h"

#include "recording.h"
#include "session_resumption.h"
#include "tls_connection.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mbedtls/ssl.h>

namespace tlsheap::recorder {

bool ConnectionExchange::handshake() {
    for (;;) {
        switch (handshake_turn()) {
        case Turn::Again:
            continue;
        case Turn::Over:
            return true;
        case Turn::Failed:
            return false;
        }
    }
}

ConnectionExchange::Turn ConnectionExchange::handshake_turn() {
    Recording& r = Recording::instance();
    mbedtls_ssl_context* ssl = c_.ssl();
    if (!handshake_started_) {
        handshake_started_ = true;
        handshake_start_ = std::chrono::steady_clock::now();
    }
    while (c_.state() != MBEDTLS_SSL_HANDSHAKE_OVER) {
        const int before = c_.state();
        certificate_step_ = certificate_step_ || before == MBEDTLS_SSL_SERVER_CERTIFICATE;
        r.step_begin(before);
        const int ret = mbedtls_ssl_handshake_step(ssl);
        r.step_end(c_.state(), ret);
        c_.note_buffers();
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            return Turn::Again;
        }
        if (ret != 0) {
            c_.failed(ret, before, "handshake", result_);
            return Turn::Failed;
        }
    }
    result_.handshake_ns =
        static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            std::chrono::steady_clock::now() - handshake_start_)
                                            .count());
    std::string summary =
        std::string(mbedtls_ssl_get_version(ssl)) + " " + mbedtls_ssl_get_ciphersuite(ssl);
    r.outcome(trace::OutcomeKind::Handshake, 0, c_.state(), summary);
    record_resumption();
    return Turn::Over;
}

void ConnectionExchange::record_resumption() {
    if (!resumption_.active()) {
        return;
    }
    Recording& r = Recording::instance();
    const char* mode = lifecycle::resume_name(resumption_.mode());
    if (!certificate_step_) {
        r.outcome(trace::OutcomeKind::Resumed, 0, c_.state(), mode);
    } else if (c_.session_offered()) {
        // The server did not take the session: a full handshake instead.
        r.outcome(trace::OutcomeKind::NotResumed, 0, c_.state(), mode);
    }
    // A TLS 1.2 session can be resumed from now on; a TLS 1.3 one once its
    // NewSessionTicket arrives (read_until).
#if TLSHEAP_MBEDTLS_3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
    if (c_.ssl()->MBEDTLS_PRIVATE(tls_version) == MBEDTLS_SSL_VERSION_TLS1_3) {
        return;
    }
#endif
    resumption_.keep(c_);
}

bool ConnectionExchange::write_all(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const int ret =
            mbedtls_ssl_write(c_.ssl(), reinterpret_cast<const unsigned char*>(data.data()) + done,
                              data.size() - done);
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            continue;
        }
        if (ret < 0) {
            return c_.failed(ret, c_.state(), "writing application data", result_);
        }
        done += static_cast<std::size_t>(ret);
    }
    sent_ += done;
    return true;
}

template <typename Enough>
bool ConnectionExchange::read_until(std::string& data, Enough enough) {
    unsigned char buf[4096];
    while (!enough(data)) {
        const int ret = mbedtls_ssl_read(c_.ssl(), buf, sizeof(buf));
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            continue;
        }
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
        if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
            // A TLS 1.3 ticket arrived (signalled only when resuming): keep
            // the session it makes resumable, and read on.
            resumption_.keep(c_);
            continue;
        }
#endif
        if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            peer_closed_ = true;
            return report_failure(result_, ConnectionStatus::TlsFailure, ret, c_.state(),
                                  "peer closed the connection after " +
                                      std::to_string(data.size()) + " bytes of application data");
        }
        if (ret < 0) {
            return c_.failed(ret, c_.state(), "reading application data", result_);
        }
        data.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(ret));
        received_ += static_cast<std::size_t>(ret);
    }
    return true;
}

bool ConnectionExchange::application_data() {
    const RecorderOptions& o = c_.options();
    if (c_.is_client()) {
        const std::string request =
            "GET /" + std::to_string(o.response_bytes) +
            " HTTP/1.0\r\nHost: " + (o.server_name.empty() ? "localhost" : o.server_name) +
            "\r\n\r\n";
        if (!write_all(request)) {
            return false;
        }
        const std::uint64_t want = o.response_bytes;
        std::string response;
        if (!read_until(response, [want](const std::string& d) {
                const auto end = d.find("\r\n\r\n");
                return end != std::string::npos && d.size() - (end + 4) >= want;
            })) {
            return false;
        }
    } else {
        std::string request;
        if (!read_until(request, [](const std::string& d) {
                return d.find("\r\n\r\n") != std::string::npos || d.size() > 8192;
            })) {
            return false;
        }
        unsigned long long bytes = 0;
        if (std::sscanf(request.c_str(), "GET /%llu", &bytes) != 1 || bytes > (1ull << 30)) {
            bytes = 0;
        }
        std::string response = "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n";
        for (unsigned long long i = 0; i < bytes; ++i) {
            response += static_cast<char>('a' + i % 26);
        }
        if (!write_all(response)) {
            return false;
        }
    }
    Recording::instance().outcome(trace::OutcomeKind::Application, 0, c_.state(),
                                  "sent " + std::to_string(sent_) + " received " +
                                      std::to_string(received_));
    return true;
}

void ConnectionExchange::close() {
    mbedtls_ssl_context* ssl = c_.ssl();
    int ret = 0;
    do {
        ret = mbedtls_ssl_close_notify(ssl);
    } while (ret == MBEDTLS_ERR_SSL_WANT_WRITE);
    if (!c_.is_client() && !peer_closed_) {
        // Wait (bounded) for the client's close_notify so it never writes to a closed socket.
        unsigned char buf[256];
        for (int i = 0; i < 64; ++i) {
            const int r = mbedtls_ssl_read(ssl, buf, sizeof(buf));
            if (r <= 0 && r != MBEDTLS_ERR_SSL_WANT_READ
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
                && r != MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
#endif
            ) {
                break;
            }
        }
    }
    Recording::instance().outcome(trace::OutcomeKind::Close, ret, c_.state(),
                                  ret == 0 ? "close_notify sent" : "");
}

} // namespace tlsheap::recorder
