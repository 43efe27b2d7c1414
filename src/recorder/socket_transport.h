// The transport under the recorded connection: mbedTLS BIO callbacks over a
// TCP socket (TLS) or a UDP socket (DTLS), every wait bounded by a timeout,
// every byte shown to the transport tap. Only what a test peer on loopback
// needs.
//
// DTLS timers are the recorder's, not the wall clock's: mbedTLS's
// retransmission timer never expires by itself. It fires only after the
// recorder dropped a datagram on purpose (--drop-datagram) and the socket has
// then been quiet for recorder_protocol::kRetransmitQuietMs; the same
// handshake therefore retransmits the same way on every run and machine.
#pragma once

#include "transport_tap.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace tlsheap::recorder {

class Listener;

class SocketTransport {
  public:
    SocketTransport(TransportTap& tap, unsigned timeout_ms) : tap_(tap), timeout_ms_(timeout_ms) {}
    ~SocketTransport();
    SocketTransport(const SocketTransport&) = delete;
    SocketTransport& operator=(const SocketTransport&) = delete;

    // UDP and DTLS records from now on (before connect or adopt_client).
    void set_datagram(bool on) { datagram_ = on; }
    bool datagram() const { return datagram_; }
    // Discards the k-th datagram received (1-based; 0: none).
    void drop_datagram(unsigned k) { drop_k_ = k; }

    // Connects within the timeout; on failure sets `error` to one line. A
    // UDP socket is connected to the peer: only its datagrams arrive.
    bool connect(const std::string& host, const std::string& port, std::string& error);
    void adopt(int fd) { fd_ = fd; }
    // DTLS server: the client `client` of a datagram listener.
    void adopt_client(Listener& listener, std::size_t client) {
        listener_ = &listener;
        client_ = client;
    }
    void close();

    // mbedtls_ssl_set_bio callbacks; ctx is the SocketTransport.
    static int bio_send(void* ctx, const unsigned char* buf, std::size_t len);
    static int bio_recv(void* ctx, unsigned char* buf, std::size_t len);
    // DTLS: one datagram; `timeout` (mbedTLS's retransmission timer) is not
    // waited for (see the top of this file).
    static int bio_recv_timeout(void* ctx, unsigned char* buf, std::size_t len,
                                std::uint32_t timeout);
    // mbedtls_ssl_set_timer_cb callbacks; ctx is the SocketTransport.
    static void set_timer(void* ctx, std::uint32_t intermediate_ms, std::uint32_t final_ms);
    static int get_timer(void* ctx);

    // DTLS server: the client's address, for HelloVerifyRequest cookies.
    std::string client_transport_id() const;
    // DTLS: how often the recorder's retransmission timer fired, and the
    // datagrams received (the dropped one included).
    unsigned timer_fires() const { return timer_fires_; }
    unsigned datagrams_received() const { return received_; }
    // True once the datagram `--drop-datagram` names was dropped.
    bool dropped() const { return drop_k_ != 0 && received_ >= drop_k_; }

    // Lock-step turns, for handshakes interleaved with other connections'
    // (and the peer's): within a turn, a read that follows a write of this
    // turn returns WANT_READ at once instead of waiting. A turn is then one
    // flight in and one flight out, decided by what mbedTLS asks for and
    // never by timing, so that two runs interleave the same way; and both
    // sides stepping their connections round robin cannot wait on each other.
    void begin_turn() {
        in_turns_ = true;
        sent_in_turn_ = false;
    }
    void end_turns() { in_turns_ = false; }
    // While held, every read returns WANT_READ: mbedtls_ssl_write_early_data()
    // steps the handshake once before it writes, and that step must not
    // consume the server's flight outside a recorded step.
    void hold_reads(bool held) { reads_held_ = held; }

    // The description of a plaintext alert record waiting unread on the
    // socket (looked at, not consumed), if one is there now.
    std::optional<unsigned> unread_plaintext_alert() const;

    // True when the last wait ran out (the peer did not answer in time; or
    // the quiet a client reads until came).
    bool timed_out() const { return timed_out_; }
    int last_errno() const { return last_errno_; }
    unsigned timeout_ms() const { return timeout_ms_; }
    // How long every wait may take from now on (a client reading until the
    // server goes quiet shortens it); clears timed_out().
    void set_timeout_ms(unsigned ms) {
        timeout_ms_ = ms;
        timed_out_ = false;
    }

  private:
    // One datagram into buf (truncated to len): >0 bytes, or an mbedTLS error.
    int receive_datagram(unsigned char* buf, std::size_t len);

    TransportTap& tap_;
    unsigned timeout_ms_;
    int fd_ = -1;
    bool datagram_ = false;
    Listener* listener_ = nullptr; // DTLS server: the socket every client shares
    std::size_t client_ = 0;
    unsigned drop_k_ = 0;
    unsigned received_ = 0;
    bool drop_outstanding_ = false; // dropped, and the timer has not fired since
    bool timer_running_ = false;
    unsigned timer_fires_ = 0;
    bool timed_out_ = false;
    int last_errno_ = 0;
    bool in_turns_ = false;
    bool sent_in_turn_ = false;
    bool reads_held_ = false;
};

// Where a server waits for clients: a listening TCP socket, or for DTLS one
// UDP socket whose datagrams are sorted by source address into one queue per
// client. One socket for every client means no datagram is lost between two
// "accepts" (a socket per client, connected, would race the next client's
// first datagram).
class Listener {
  public:
    ~Listener();
    // Binds (and listens); port "0" picks an ephemeral port.
    bool listen(const std::string& host, const std::string& port, bool datagram,
                std::string& error);
    unsigned port() const { return port_; }
    bool datagram() const { return datagram_; }
    // TCP: waits at most timeout_ms for one connection; returns the fd or -1.
    // Clients wait in the kernel's queue in the order they connected.
    int accept(unsigned timeout_ms, std::string& error);
    // UDP: waits at most timeout_ms for a datagram from a new client;
    // returns the client's index or -1. Clients in the order they first sent.
    long accept_client(unsigned timeout_ms, std::string& error);

    // UDP: the next datagram from `client`, waiting at most timeout_ms;
    // false on timeout.
    bool receive(std::size_t client, std::string& datagram, unsigned timeout_ms);
    // UDP: sends one datagram to `client`; -1 and errno on failure.
    long send(std::size_t client, const unsigned char* data, std::size_t size);
    // UDP: the client's address as bytes (address and port).
    std::string client_id(std::size_t client) const;

  private:
    struct Client {
        sockaddr_storage address{};
        socklen_t length = 0;
        std::deque<std::string> queue;
        bool accepted = false;
    };
    // Reads one datagram into its client's queue, waiting at most
    // timeout_ms; false on timeout or error.
    bool pump(unsigned timeout_ms);
    // Pumps until `ready()` holds, at most timeout_ms in all; false if it never does.
    template <typename Ready>
    bool pump_until(Ready ready, unsigned timeout_ms);

    int fd_ = -1;
    unsigned port_ = 0;
    bool datagram_ = false;
    std::vector<Client> clients_;
    std::vector<unsigned char> buffer_;
};

} // namespace tlsheap::recorder
