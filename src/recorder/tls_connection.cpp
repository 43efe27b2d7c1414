#include "tls_connection.h"

#include "activity_scope.h"
#include "connection_id_lengths.h"
#include "recording.h"
#include "shared_tls_config.h"
#include "tlsheap/tls_wire.h"

#include <algorithm>
#include <cstdint>
#include <mbedtls/net_sockets.h>
#include <string>

#if defined(MBEDTLS_X509_CRT_PARSE_C)
#include <mbedtls/x509_crt.h>
#endif

extern "C" {
extern const unsigned long tlsheap_ssl_in_content_len;
}

namespace tlsheap::recorder {

TlsConnection::TlsConnection(const RecorderOptions& options, std::uint32_t id)
    : o_(options), id_(id), tap_(&TlsConnection::on_tls_record, this),
      transport_(tap_, options.timeout_ms) {
    mbedtls_ssl_init(&ssl_);
}

void TlsConnection::on_tls_record(const ObservedRecord& record, void* self) {
    auto* c = static_cast<TlsConnection*>(self);
    if (record.direction == trace::Direction::In && record.length > c->largest_in_record_) {
        c->largest_in_record_ = record.length;
    }
    for (unsigned i = 0; i < record.hs_count; ++i) {
        // A client counts the ones it received; a server, its resets.
        if (record.hs_types[i] == tls::kHelloVerifyRequest &&
            record.direction == trace::Direction::In &&
            (record.flags & trace::kRecordDropped) == 0) {
            ++c->hello_verify_requests_;
        }
    }
    Recording::on_tls_record(record, &Recording::instance());
}

bool TlsConnection::setup(const SharedTlsConfig& shared, ConnectionResult& result) {
    ActivityScope a(Recording::instance(), trace::kActivitySslSetup);
    const int ret = mbedtls_ssl_setup(&ssl_, shared.config());
    if (ret != 0) {
        return failed(ret, state(), "mbedtls_ssl_setup", result);
    }
    note_buffers();
#if defined(MBEDTLS_SSL_PROTO_DTLS)
    if (o_.datagram) {
        transport_.set_datagram(true);
        transport_.drop_datagram(o_.drop_datagram);
        tap_.set_datagram(true);
        mbedtls_ssl_set_timer_cb(&ssl_, &transport_, &SocketTransport::set_timer,
                                 &SocketTransport::get_timer);
        if (o_.mtu != 0) {
            mbedtls_ssl_set_mtu(&ssl_, static_cast<std::uint16_t>(o_.mtu));
        }
    }
#endif
#if defined(MBEDTLS_SSL_DTLS_CONNECTION_ID)
    if (o_.cid_bytes >= 0) {
        // A fixed CID per side and connection: two runs send the same bytes.
        const auto n = static_cast<std::size_t>(o_.cid_bytes);
        for (std::size_t i = 0; i < n; ++i) {
            own_cid_[i] = static_cast<unsigned char>((is_client() ? 0xc0 : 0x50) + id_ + i);
        }
        const int r = mbedtls_ssl_set_cid(&ssl_, MBEDTLS_SSL_CID_ENABLED, own_cid_, n);
        if (r != 0) {
            return failed(r, state(), "mbedtls_ssl_set_cid", result);
        }
        tap_connection_id_lengths(&ssl_, tap_);
    }
#endif
#if defined(MBEDTLS_X509_CRT_PARSE_C)
    if (is_client() && !o_.server_name.empty()) {
        const int r = mbedtls_ssl_set_hostname(&ssl_, o_.server_name.c_str());
        if (r != 0) {
            return failed(r, state(), "mbedtls_ssl_set_hostname", result);
        }
    }
#endif
    return true;
}

bool TlsConnection::open(Listener* listener, ConnectionResult& result) {
    std::string error;
    if (o_.datagram && !is_client()) {
        const long client = listener->accept_client(o_.timeout_ms, error);
        if (client < 0) {
            return report_failure(result, ConnectionStatus::Timeout, -1, state(), error);
        }
        transport_.adopt_client(*listener, static_cast<std::size_t>(client));
        if (!set_client_transport_id(result)) {
            return false;
        }
    } else if (is_client()) {
        if (!transport_.connect(o_.connect_host, o_.connect_port, error)) {
            return report_failure(result,
                                  transport_.timed_out() ? ConnectionStatus::Timeout
                                                         : ConnectionStatus::Transport,
                                  -1, state(), error);
        }
    } else {
        const int fd = listener->accept(o_.timeout_ms, error);
        if (fd < 0) {
            return report_failure(result, ConnectionStatus::Timeout, -1, state(), error);
        }
        transport_.adopt(fd);
    }
    // DTLS reads one datagram at a time, through the timeout callback.
    mbedtls_ssl_set_bio(&ssl_, &transport_, &SocketTransport::bio_send,
                        o_.datagram ? nullptr : &SocketTransport::bio_recv,
                        o_.datagram ? &SocketTransport::bio_recv_timeout : nullptr);
    return true;
}

bool TlsConnection::set_client_transport_id([[maybe_unused]] ConnectionResult& result) {
#if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY) && defined(MBEDTLS_SSL_SRV_C)
    const std::string id = transport_.client_transport_id();
    const int r = mbedtls_ssl_set_client_transport_id(
        &ssl_, reinterpret_cast<const unsigned char*>(id.data()), id.size());
    if (r != 0) {
        return failed(r, state(), "mbedtls_ssl_set_client_transport_id", result);
    }
#endif
    return true;
}

bool TlsConnection::reset_after_hello_verify(ConnectionResult& result) {
    ++hello_verify_requests_;
    {
        ActivityScope a(Recording::instance(), "ssl_session_reset");
        const int r = mbedtls_ssl_session_reset(&ssl_);
        if (r != 0) {
            return failed(r, state(), "mbedtls_ssl_session_reset", result);
        }
    }
    note_buffers();
    return set_client_transport_id(result);
}

std::string TlsConnection::datagram_summary() {
    if (!o_.datagram) {
        return {};
    }
    std::string text;
#if defined(MBEDTLS_SSL_DTLS_CONNECTION_ID)
    if (o_.cid_bytes >= 0) {
        int enabled = MBEDTLS_SSL_CID_DISABLED;
        unsigned char peer[MBEDTLS_SSL_CID_OUT_LEN_MAX];
        std::size_t peer_len = 0;
        if (mbedtls_ssl_get_peer_cid(&ssl_, &enabled, peer, &peer_len) == 0 &&
            enabled == MBEDTLS_SSL_CID_ENABLED) {
            text += ", connection ID: ours " + std::to_string(o_.cid_bytes) +
                    " bytes, the peer's " + std::to_string(peer_len) + " bytes";
        } else {
            text += ", no connection ID (the peer did not take it)";
        }
    }
#endif
    if (hello_verify_requests_ > 0) {
        text += ", after " + std::to_string(hello_verify_requests_) + " HelloVerifyRequest" +
                (hello_verify_requests_ > 1 ? "s" : "");
    }
    if (transport_.dropped()) {
        text += ", datagram " + std::to_string(o_.drop_datagram) + " dropped";
    }
    if (transport_.timer_fires() > 0) {
        text += ", retransmission timer fired " + std::to_string(transport_.timer_fires()) +
                (transport_.timer_fires() > 1 ? " times" : " time");
    }
    return text;
}

void TlsConnection::free() {
    if (freed_) {
        return;
    }
    freed_ = true;
    mbedtls_ssl_free(&ssl_);
    transport_.close();
}

void TlsConnection::note_buffers() {
    unsigned char* in = ssl_.MBEDTLS_PRIVATE(in_buf);
    unsigned char* out = ssl_.MBEDTLS_PRIVATE(out_buf);
    Recording& r = Recording::instance();
    if (in != nullptr && in != last_in_) {
        r.role(in, trace::Role::InBuffer);
    }
    if (out != nullptr && out != last_out_) {
        r.role(out, trace::Role::OutBuffer);
    }
    last_in_ = in;
    last_out_ = out;
    tap_connection_id_lengths(&ssl_, tap_);
#if TLSHEAP_MBEDTLS_3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
    tap_.set_tls13(ssl_.MBEDTLS_PRIVATE(tls_version) == MBEDTLS_SSL_VERSION_TLS1_3);
#endif
}

bool TlsConnection::failed(int ret, int in_state, const char* doing, ConnectionResult& result) {
    if (transport_.timed_out()) {
        return report_failure(result, ConnectionStatus::Timeout, ret, in_state,
                              "peer did not answer within " + std::to_string(o_.timeout_ms) +
                                  " ms (" + doing + ", state " + state_name(in_state) + ")");
    }
    std::string error = describe_tls_failure(ret, in_state, doing);
    if (ret == MBEDTLS_ERR_SSL_CONN_EOF || ret == MBEDTLS_ERR_NET_CONN_RESET) {
        error += " (the peer closed the connection)";
    }
    // Which alert the peer sent: the one mbedTLS read, or one still unread
    // on the socket after our write failed (a TLS 1.2 handshake's alerts
    // are plaintext until ChangeCipherSpec; TLS 1.3's are encrypted).
    std::optional<unsigned> alert;
    if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && ssl_.MBEDTLS_PRIVATE(in_msg) != nullptr) {
        alert = ssl_.MBEDTLS_PRIVATE(in_msg)[1];
    } else if (ret == MBEDTLS_ERR_NET_CONN_RESET || ret == MBEDTLS_ERR_NET_SEND_FAILED) {
        alert = transport_.unread_plaintext_alert();
    }
    if (alert) {
        error += "; the peer sent a fatal alert: " + tls::alert_name(*alert);
    }
    const unsigned long largest =
        std::max<unsigned long>(largest_in_record_, tap_.pending_length(trace::Direction::In));
    if (largest > tlsheap_ssl_in_content_len) {
        // The usual reason a small-buffer configuration fails.
        error += "; the peer sent a " + std::to_string(largest) +
                 "-byte record but MBEDTLS_SSL_IN_CONTENT_LEN is " +
                 std::to_string(tlsheap_ssl_in_content_len);
    }
#if defined(MBEDTLS_X509_CRT_PARSE_C)
    const uint32_t flags = mbedtls_ssl_get_verify_result(&ssl_);
    if (flags != 0 && flags != static_cast<uint32_t>(-1)) {
        char info[512];
        mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
        for (char* p = info; *p; ++p) {
            if (*p == '\n') {
                *p = ';';
            }
        }
        std::string text = info;
        while (!text.empty() && (text.back() == ';' || text.back() == ' ')) {
            text.pop_back();
        }
        error += "; certificate verification: " + text;
    }
#endif
    return report_failure(result, ConnectionStatus::TlsFailure, ret, in_state, error);
}

} // namespace tlsheap::recorder
