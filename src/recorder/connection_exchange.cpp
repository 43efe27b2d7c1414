#include "connection_exchange.h"

#include "activity_scope.h"
#include "recording.h"
#include "session_resumption.h"
#include "socket_transport.h"
#include "tls_connection.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mbedtls/ssl.h>
#include <optional>

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
        if (wants_to_write_early_data() && !write_early_data()) {
            return Turn::Failed;
        }
        const int before = c_.state();
        certificate_step_ = certificate_step_ || before == MBEDTLS_SSL_SERVER_CERTIFICATE;
        r.step_begin(before);
        const int ret = mbedtls_ssl_handshake_step(ssl);
        r.step_end(c_.state(), ret);
        c_.note_buffers();
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            return Turn::Again;
        }
#if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY) && defined(MBEDTLS_SSL_SRV_C)
        if (ret == MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED) {
            // The cookie exchange: the client sends its ClientHello again.
            if (!c_.reset_after_hello_verify(result_)) {
                return Turn::Failed;
            }
            return Turn::Again;
        }
#endif
#if defined(MBEDTLS_ERR_SSL_RECEIVED_EARLY_DATA)
        if (ret == MBEDTLS_ERR_SSL_RECEIVED_EARLY_DATA) {
            if (!read_early_data(before)) {
                return Turn::Failed;
            }
            continue;
        }
#endif
        if (ret != 0) {
            c_.failed(ret, before, "handshake", result_);
            return Turn::Failed;
        }
    }
    result_.handshake_ns =
        static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            std::chrono::steady_clock::now() - handshake_start_)
                                            .count());
    std::string summary = std::string(mbedtls_ssl_get_version(ssl)) + " " +
                          mbedtls_ssl_get_ciphersuite(ssl) + c_.datagram_summary();
    r.outcome(trace::OutcomeKind::Handshake, 0, c_.state(), summary);
    record_resumption();
    record_early_data();
    return Turn::Over;
}

bool ConnectionExchange::wants_to_write_early_data() const {
    // mbedTLS can write early data from the state after the ClientHello
    // (and its compatibility-mode ChangeCipherSpec): MBEDTLS_SSL_SERVER_HELLO.
    return c_.options().lifecycle.early_data && c_.is_client() && c_.session_offered() &&
           !early_data_tried_ && c_.state() == MBEDTLS_SSL_SERVER_HELLO;
}

bool ConnectionExchange::write_early_data() {
    early_data_tried_ = true;
#if defined(MBEDTLS_SSL_EARLY_DATA) && defined(MBEDTLS_SSL_CLI_C)
    const std::string data = request();
    SocketTransport& transport = c_.transport();
    ActivityScope a(Recording::instance(), "ssl_write_early_data");
    // The step mbedtls_ssl_write_early_data() runs first must find nothing
    // to read: the server's flight belongs to the next recorded step.
    transport.hold_reads(true);
    while (early_data_sent_ < data.size()) {
        const int ret = mbedtls_ssl_write_early_data(
            c_.ssl(), reinterpret_cast<const unsigned char*>(data.data()) + early_data_sent_,
            data.size() - early_data_sent_);
        if (ret == MBEDTLS_ERR_SSL_CANNOT_WRITE_EARLY_DATA) {
            break; // the ticket allows none, or no more: the rest goes after the handshake
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            continue;
        }
        if (ret < 0) {
            transport.hold_reads(false);
            return c_.failed(ret, c_.state(), "mbedtls_ssl_write_early_data", result_);
        }
        early_data_sent_ += static_cast<std::size_t>(ret);
    }
    transport.hold_reads(false);
#endif
    return true;
}

bool ConnectionExchange::read_early_data([[maybe_unused]] int state_before) {
#if defined(MBEDTLS_SSL_EARLY_DATA) && defined(MBEDTLS_SSL_SRV_C)
    ActivityScope a(Recording::instance(), "ssl_read_early_data");
    // Static: the application's buffer is not mbedTLS's stack (painted_stack.h).
    static unsigned char buf[1024];
    for (;;) {
        const int ret = mbedtls_ssl_read_early_data(c_.ssl(), buf, sizeof(buf));
        if (ret == MBEDTLS_ERR_SSL_CANNOT_READ_EARLY_DATA) {
            return true; // this record is read; the handshake goes on
        }
        if (ret < 0) {
            return c_.failed(ret, state_before, "mbedtls_ssl_read_early_data", result_);
        }
        early_data_accepted_ = true;
        early_data_read_.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(ret));
        received_ += static_cast<std::size_t>(ret);
    }
#else
    return c_.failed(MBEDTLS_ERR_SSL_INTERNAL_ERROR, state_before,
                     "early data arrived in a variant without MBEDTLS_SSL_EARLY_DATA", result_);
#endif
}

void ConnectionExchange::record_early_data() {
    if (!c_.options().lifecycle.early_data) {
        return;
    }
    using trace::EarlyDataStatus;
    std::optional<EarlyDataStatus> status;
    std::size_t bytes = 0;
    if (c_.is_client()) {
#if defined(MBEDTLS_SSL_EARLY_DATA) && defined(MBEDTLS_SSL_CLI_C)
        if (!c_.session_offered()) {
            return; // nothing to resume yet, so no 0-RTT keys
        }
        switch (mbedtls_ssl_get_early_data_status(c_.ssl())) {
        case MBEDTLS_SSL_EARLY_DATA_STATUS_ACCEPTED:
            status = EarlyDataStatus::Accepted;
            early_data_accepted_ = true;
            break;
        case MBEDTLS_SSL_EARLY_DATA_STATUS_REJECTED:
            status = EarlyDataStatus::Rejected;
            break;
        default:
            status = EarlyDataStatus::NotOffered;
            break;
        }
        bytes = early_data_sent_;
#endif
    } else if (early_data_accepted_) {
        // A server cannot tell a client that sent none from one whose data
        // it skipped: it records only the data it read.
        status = EarlyDataStatus::Accepted;
        bytes = early_data_read_.size();
    }
    if (status) {
        Recording::instance().outcome(trace::OutcomeKind::EarlyData, static_cast<int>(*status),
                                      c_.state(), std::to_string(bytes) + " bytes");
    }
}

std::string ConnectionExchange::request() const {
    const RecorderOptions& o = c_.options();
    if (o.request_set) {
        return o.request;
    }
    return "GET /" + std::to_string(o.response_bytes) +
           " HTTP/1.0\r\nHost: " + (o.server_name.empty() ? "localhost" : o.server_name) +
           "\r\n\r\n";
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
ConnectionExchange::ReadEnd ConnectionExchange::read_until(std::string& data, Enough enough,
                                                           bool quiet, bool keep) {
    // Static: the application's buffer is not mbedTLS's stack (painted_stack.h).
    static unsigned char buf[4096];
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
            close_ret_ = ret;
            return ReadEnd::Closed;
        }
        if (quiet && c_.transport().timed_out()) {
            return ReadEnd::Quiet;
        }
        if (ret == MBEDTLS_ERR_SSL_TIMEOUT && c_.transport().datagram() &&
            !c_.transport().timed_out()) {
            return ReadEnd::TimerFired;
        }
        if (ret < 0) {
            c_.failed(ret, c_.state(), "reading application data", result_);
            return ReadEnd::Failed;
        }
        if (keep) {
            data.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(ret));
        }
        received_ += static_cast<std::size_t>(ret);
        answer_bytes_ += static_cast<std::size_t>(ret);
    }
    return ReadEnd::Enough;
}

bool ConnectionExchange::peer_closed_early(std::size_t bytes) {
    return report_failure(result_, ConnectionStatus::TlsFailure, close_ret_, c_.state(),
                          "peer closed the connection after " + std::to_string(bytes) +
                              " bytes of application data");
}

bool ConnectionExchange::application_datagram_lost() {
    return report_failure(
        result_, ConnectionStatus::TlsFailure, MBEDTLS_ERR_SSL_TIMEOUT, c_.state(),
        "the dropped datagram (--drop-datagram " + std::to_string(c_.options().drop_datagram) +
            ") carried application data, which DTLS does not send again");
}

bool ConnectionExchange::read_answer() {
    using recorder_protocol::ReadUntil;
    const RecorderOptions& o = c_.options();
    const recorder_protocol::ReadRule rule = o.read_rule;
    std::string answer;
    answer_bytes_ = 0;
    ReadEnd end = ReadEnd::Failed;
    // Only the scenario's answer is kept (to find its header block), and
    // only so much of it: a server that never ends its headers is not read
    // into memory without end. The other rules count bytes.
    constexpr std::uint64_t kMaxHeaderBlock = 64 * 1024;
    switch (rule.until) {
    case ReadUntil::Response: {
        const std::uint64_t want = o.response_bytes;
        end = read_until(answer, [want](const std::string& d) {
            const auto body = d.find("\r\n\r\n");
            return (body != std::string::npos && d.size() - (body + 4) >= want) ||
                   d.size() >= want + kMaxHeaderBlock;
        });
        break;
    }
    case ReadUntil::Close:
        end = read_until(
            answer, [](const std::string&) { return false; }, false, false);
        break;
    case ReadUntil::Bytes:
        end = read_until(
            answer, [&](const std::string&) { return answer_bytes_ >= rule.value; }, false, false);
        break;
    case ReadUntil::Quiet: {
        SocketTransport& transport = c_.transport();
        const unsigned step_timeout = transport.timeout_ms();
        transport.set_timeout_ms(static_cast<unsigned>(rule.value));
        end = read_until(
            answer, [](const std::string&) { return false; }, true, false);
        transport.set_timeout_ms(step_timeout);
        break;
    }
    }
    if (end == ReadEnd::Failed) {
        return false;
    }
    if (end == ReadEnd::TimerFired) {
        return application_datagram_lost();
    }
    // Reading until close or quiet, a close is where the answer ends.
    const bool ends_by_close = rule.until == ReadUntil::Close || rule.until == ReadUntil::Quiet;
    if (end == ReadEnd::Closed && !ends_by_close) {
        if (!o.short_answer_ok) {
            return peer_closed_early(answer_bytes_);
        }
        answer_note_ = "the server closed after " + std::to_string(answer_bytes_) +
                       " bytes, before " +
                       (rule.until == ReadUntil::Response
                            ? "a header block and " + std::to_string(o.response_bytes) +
                                  " bytes (the scenario's answer)"
                            : std::to_string(rule.value) + " bytes");
    } else if (end == ReadEnd::Closed) {
        answer_note_ = "until the server closed";
    } else if (end == ReadEnd::Quiet) {
        answer_note_ = "until nothing came for " + std::to_string(rule.value) + " ms";
    }
    return true;
}

bool ConnectionExchange::next_mqtt_packet(std::string& pending, mqtt::Packet& packet) {
    bool malformed = false;
    // No packet the session expects is larger than the echo of its PUBLISH:
    // a broker announcing more is not read into memory without end.
    const std::size_t most = c_.options().publish_bytes + 1024;
    const ReadEnd end = read_until(pending, [&](const std::string& d) {
        return mqtt::has_packet(d, malformed) || d.size() > most;
    });
    if (end == ReadEnd::Failed || end == ReadEnd::TimerFired) { // MQTT: never over DTLS
        return false;
    }
    if (end == ReadEnd::Closed) {
        return report_failure(result_, ConnectionStatus::TlsFailure, close_ret_, c_.state(),
                              "the MQTT broker closed the connection");
    }
    auto taken = mqtt::take_packet(pending, malformed);
    if (malformed || !taken) {
        return report_failure(result_, ConnectionStatus::TlsFailure, 0, c_.state(),
                              malformed ? std::string("the MQTT broker sent a malformed packet")
                                        : "the MQTT broker sent a packet of more than " +
                                              std::to_string(most) + " bytes");
    }
    packet = *taken;
    return true;
}

bool ConnectionExchange::mqtt_session(std::string& summary) {
    using recorder_protocol::kMqttTopic;
    const RecorderOptions& o = c_.options();
    const std::string topic(kMqttTopic);
    auto refuse = [&](const std::string& what) {
        return report_failure(result_, ConnectionStatus::TlsFailure, 0, c_.state(), what);
    };
    std::string pending;
    mqtt::Packet p;
    if (!write_all(mqtt::connect(std::string(recorder_protocol::kMqttClientId),
                                 recorder_protocol::kMqttKeepAliveSeconds)) ||
        !next_mqtt_packet(pending, p)) {
        return false;
    }
    const auto connack = mqtt::read_connack(p);
    if (!connack) {
        return refuse("the MQTT broker answered CONNECT with packet type " +
                      std::to_string(static_cast<int>(p.type)));
    }
    if (connack->return_code != 0) {
        return refuse("the MQTT broker refused CONNECT: " +
                      mqtt::connack_meaning(connack->return_code));
    }
    constexpr std::uint16_t kSubscribeId = 1;
    constexpr std::uint16_t kPublishId = 2;
    if (!write_all(mqtt::subscribe(kSubscribeId, topic, 1)) || !next_mqtt_packet(pending, p)) {
        return false;
    }
    const auto granted = mqtt::read_suback_code(p);
    if (!granted || mqtt::read_packet_id(p) != kSubscribeId || *granted == 0x80) {
        return refuse("the MQTT broker refused SUBSCRIBE to " + topic);
    }
    const std::string payload(o.publish_bytes, 'm');
    if (!write_all(mqtt::publish(topic, 1, kPublishId, payload))) {
        return false;
    }
    // PUBACK for ours and the broker's copy, in either order; the copy
    // (QoS 1, as subscribed) is acknowledged.
    bool acked = false;
    std::size_t echoed = 0;
    while (!acked || echoed == 0) {
        if (!next_mqtt_packet(pending, p)) {
            return false;
        }
        if (p.type == mqtt::Type::Puback && mqtt::read_packet_id(p) == kPublishId) {
            acked = true;
        } else if (const auto copy = mqtt::read_publish(p); copy && copy->topic == topic) {
            echoed = copy->payload_bytes;
            if (copy->qos > 0 && !write_all(mqtt::puback(copy->packet_id))) {
                return false;
            }
        } else {
            return refuse("the MQTT broker sent packet type " +
                          std::to_string(static_cast<int>(p.type)) +
                          " where PUBACK or PUBLISH was expected");
        }
    }
    if (!write_all(mqtt::pingreq()) || !next_mqtt_packet(pending, p)) {
        return false;
    }
    if (p.type != mqtt::Type::Pingresp) {
        return refuse("the MQTT broker answered PINGREQ with packet type " +
                      std::to_string(static_cast<int>(p.type)));
    }
    if (!write_all(mqtt::disconnect())) {
        return false;
    }
    summary = "MQTT 3.1.1: CONNECT, SUBSCRIBE " + topic + " QoS 1, PUBLISH " +
              std::to_string(payload.size()) + " bytes QoS 1, PUBACK, echo of " +
              std::to_string(echoed) + " bytes, PINGREQ, DISCONNECT";
    return true;
}

ConnectionExchange::ReadEnd ConnectionExchange::read_record(std::string& record) {
    record.clear();
    return read_until(record, [](const std::string& d) { return !d.empty(); });
}

bool ConnectionExchange::coap_request(std::string& summary) {
    const RecorderOptions& o = c_.options();
    const std::string request = coap::get_request(
        recorder_protocol::kCoapMessageId, std::string(recorder_protocol::kCoapToken), o.coap_path);
    // RFC 7252 4.8: MAX_RETRANSMIT.
    constexpr unsigned kMaxRetransmit = 4;
    unsigned sends = 0;
    std::string record;
    for (;;) {
        if (!write_all(request)) {
            return false;
        }
        ++sends;
        const ReadEnd end = read_record(record);
        if (end == ReadEnd::Closed) {
            return report_failure(result_, ConnectionStatus::TlsFailure, close_ret_, c_.state(),
                                  "the CoAP server closed the connection before it answered");
        }
        if (end == ReadEnd::Failed) {
            return false;
        }
        if (end == ReadEnd::TimerFired) {
            // The answer was dropped: a confirmable request goes again.
            if (sends <= kMaxRetransmit) {
                continue;
            }
            return application_datagram_lost();
        }
        break;
    }
    std::string error;
    const auto answer = coap::decode(record, error);
    if (!answer) {
        return report_failure(result_, ConnectionStatus::TlsFailure, 0, c_.state(),
                              "the CoAP server's answer is not CoAP: " + error);
    }
    if (answer->token != recorder_protocol::kCoapToken) {
        return report_failure(result_, ConnectionStatus::TlsFailure, 0, c_.state(),
                              "the CoAP server answered with another token");
    }
    if (answer->code != coap::kContent) {
        return report_failure(result_, ConnectionStatus::TlsFailure, 0, c_.state(),
                              "the CoAP server answered " + coap::code_text(answer->code) +
                                  " to GET " + o.coap_path);
    }
    summary = "CoAP GET " + o.coap_path + ": " + coap::code_text(answer->code) + ", " +
              std::to_string(answer->payload.size()) + " bytes" +
              (sends > 1 ? " (request sent " + std::to_string(sends) + " times)" : "");
    return true;
}

bool ConnectionExchange::coap_answer() {
    std::string record;
    const ReadEnd end = read_record(record);
    if (end == ReadEnd::Failed) {
        return false;
    }
    if (end == ReadEnd::TimerFired) {
        return application_datagram_lost();
    }
    if (end == ReadEnd::Closed) {
        return peer_closed_early(0);
    }
    std::string error;
    const auto request = coap::decode(record, error);
    if (!request) {
        return report_failure(result_, ConnectionStatus::TlsFailure, 0, c_.state(),
                              "the client's request is not CoAP: " + error);
    }
    const RecorderOptions& o = c_.options();
    return write_all(coap::encode(coap::answer(*request, o.coap_path, o.response_bytes)));
}

bool ConnectionExchange::application_data() {
    using recorder_protocol::Application;
    std::string mqtt_summary;
    const Application application = c_.options().application;
    if (c_.is_client() && application == Application::Mqtt) {
        if (!mqtt_session(mqtt_summary)) {
            return false;
        }
    } else if (c_.is_client() && application == Application::Coap) {
        if (!coap_request(mqtt_summary)) {
            return false;
        }
    } else if (application == Application::Coap) {
        if (!coap_answer()) {
            return false;
        }
    } else if (c_.is_client()) {
        // What the server read as early data is not sent again; what it
        // skipped is (RFC 8446 4.2.10: the client may resend it).
        const std::string rest = request().substr(early_data_accepted_ ? early_data_sent_ : 0);
        if (!rest.empty() && !write_all(rest)) {
            return false;
        }
        sent_ += early_data_accepted_ ? early_data_sent_ : 0;
        if (!read_answer()) {
            return false;
        }
    } else {
        std::string request = early_data_read_;
        const ReadEnd end = read_until(request, [](const std::string& d) {
            return d.find("\r\n\r\n") != std::string::npos || d.size() > 8192;
        });
        if (end == ReadEnd::Failed) {
            return false;
        }
        if (end == ReadEnd::TimerFired) {
            return application_datagram_lost();
        }
        if (end == ReadEnd::Closed) {
            return peer_closed_early(request.size());
        }
        unsigned long long bytes = 0;
        if (std::sscanf(request.c_str(), "GET /%llu", &bytes) != 1 || bytes > (1ull << 30)) {
            bytes = 0;
        }
        std::string response(recorder_protocol::kHttpAnswerHeader);
        for (unsigned long long i = 0; i < bytes; ++i) {
            response += static_cast<char>('a' + i % 26);
        }
        if (!write_all(response)) {
            return false;
        }
    }
    Recording::instance().outcome(trace::OutcomeKind::Application, 0, c_.state(),
                                  (mqtt_summary.empty() ? "" : mqtt_summary + "; ") + "sent " +
                                      std::to_string(sent_) + " received " +
                                      std::to_string(received_) +
                                      (answer_note_.empty() ? "" : ", " + answer_note_));
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
        // Static: the application's buffer is not mbedTLS's stack (painted_stack.h).
        static unsigned char buf[256];
        for (int i = 0; i < 64; ++i) {
            const int r = mbedtls_ssl_read(ssl, buf, sizeof(buf));
            if (r > 0 && c_.options().application == recorder_protocol::Application::Coap) {
                // A request sent again (its answer was lost): answered again.
                std::string error;
                const auto request = coap::decode(
                    std::string(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(r)),
                    error);
                if (request) {
                    const RecorderOptions& o = c_.options();
                    write_all(coap::encode(coap::answer(*request, o.coap_path, o.response_bytes)));
                }
                continue;
            }
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
