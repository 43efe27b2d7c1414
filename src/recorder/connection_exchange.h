// What is said over one connection: the handshake, one
// mbedtls_ssl_handshake_step() at a time so that every allocation is
// attributed to the state being processed; the scripted HTTP-like exchange of
// application data; and close_notify. Each step records its outcome.
#pragma once

#include "coap_messages.h"
#include "connection_result.h"
#include "mqtt_packets.h"

#include <chrono>
#include <cstddef>
#include <string>

namespace tlsheap::recorder {

class SessionResumption;
class TlsConnection;

class ConnectionExchange {
  public:
    // `resumption`: where the session to resume is kept (the run's).
    ConnectionExchange(TlsConnection& connection, ConnectionResult& result,
                       SessionResumption& resumption)
        : c_(connection), result_(result), resumption_(resumption) {}

    // HANDSHAKE: steps until the handshake is over; sets result.handshake_ns.
    bool handshake();
    // One turn of a handshake interleaved with others (see
    // SocketTransport::begin_turn): steps until a step wants to read what
    // the peer has yet to send, or the handshake is over.
    enum class Turn { Again, Over, Failed };
    Turn handshake_turn();
    // APPLICATION: a client sends its request (a GET for the scenario's
    // response size unless told otherwise) and reads the answer as long as
    // its read rule says; a server answers a GET.
    bool application_data();
    // CLOSE: sends close_notify; a server then waits (bounded) for the client's.
    void close();

  private:
    // After the Handshake outcome: whether this handshake resumed a session.
    void record_resumption();
    // A client resuming with early data, once its ClientHello is out: sends
    // the request as 0-RTT data, as much of it as the ticket allows.
    bool wants_to_write_early_data() const;
    bool write_early_data();
    // A server whose handshake step announced 0-RTT data: reads all of it.
    bool read_early_data(int state_before);
    // After the Handshake outcome of a run with early data.
    void record_early_data();
    // What a client asks for: `--request-hex`, or a GET for the scenario's
    // response size.
    std::string request() const;
    bool write_all(const std::string& data);
    // Reads until `enough` says the message is complete, the peer closes, or
    // (with `quiet`) a read waits longer than the transport's timeout. What
    // is read is appended to `data` unless `keep` is false (answer_bytes_
    // counts it either way).
    // TimerFired: DTLS, the recorder's retransmission timer fired after a
    // dropped datagram (application data: DTLS does not send it again).
    enum class ReadEnd { Enough, Closed, Quiet, TimerFired, Failed };
    template <typename Enough>
    ReadEnd read_until(std::string& data, Enough enough, bool quiet = false, bool keep = true);
    // Client: reads the answer to its request as the read rule says.
    bool read_answer();
    // Client: the MQTT session (recorder_protocol::Application::Mqtt);
    // sets `summary` to what went over it.
    bool mqtt_session(std::string& summary);
    // The next whole MQTT packet from the broker, read as needed into
    // `pending`; false (the failure reported) when the broker closes or
    // sends what is not MQTT.
    bool next_mqtt_packet(std::string& pending, mqtt::Packet& packet);
    bool peer_closed_early(std::size_t bytes);
    bool application_datagram_lost();
    // Client: a confirmable CoAP GET of the scenario's path, sent again (as
    // RFC 7252 4.2 says) when the recorder's retransmission timer fires;
    // sets `summary` to the answer's code and size.
    bool coap_request(std::string& summary);
    // Server: reads one CoAP request and answers it (coap::answer); false
    // (the failure reported) on anything that is not CoAP.
    bool coap_answer();
    // The next application record, whole (DTLS: one record per read).
    ReadEnd read_record(std::string& record);

    TlsConnection& c_;
    ConnectionResult& result_;
    SessionResumption& resumption_;
    // A step ran in MBEDTLS_SSL_SERVER_CERTIFICATE: both versions and both
    // sides go there in a full handshake and skip it when they resume.
    bool certificate_step_ = false;
    bool peer_closed_ = false;
    int close_ret_ = 0; // how mbedtls_ssl_read said the peer closed: 0 or PEER_CLOSE_NOTIFY
    bool handshake_started_ = false;
    std::chrono::steady_clock::time_point handshake_start_;
    std::size_t sent_ = 0;
    std::size_t received_ = 0;
    bool early_data_tried_ = false;
    std::size_t early_data_sent_ = 0; // client: request bytes that went out as 0-RTT data
    bool early_data_accepted_ = false;
    std::string early_data_read_;  // server: the 0-RTT data, the request's first bytes
    std::string answer_note_;      // client: how the answer ended, when not as expected
    std::size_t answer_bytes_ = 0; // client: bytes of the answer read so far
};

} // namespace tlsheap::recorder
