// TCP transport for the recorded connection: mbedTLS BIO callbacks over a
// socket, every wait bounded by a timeout, every byte shown to the
// transport tap. Only what a test peer on loopback needs.
#pragma once

#include "transport_tap.h"

#include <cstddef>
#include <optional>
#include <string>

namespace tlsheap::recorder {

class SocketTransport {
  public:
    SocketTransport(TransportTap& tap, unsigned timeout_ms) : tap_(tap), timeout_ms_(timeout_ms) {}
    ~SocketTransport();
    SocketTransport(const SocketTransport&) = delete;
    SocketTransport& operator=(const SocketTransport&) = delete;

    // Connects within the timeout; on failure sets `error` to one line.
    bool connect(const std::string& host, const std::string& port, std::string& error);
    void adopt(int fd) { fd_ = fd; }
    void close();

    // mbedtls_ssl_set_bio callbacks; ctx is the SocketTransport.
    static int bio_send(void* ctx, const unsigned char* buf, std::size_t len);
    static int bio_recv(void* ctx, unsigned char* buf, std::size_t len);

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
    TransportTap& tap_;
    unsigned timeout_ms_;
    int fd_ = -1;
    bool timed_out_ = false;
    int last_errno_ = 0;
    bool in_turns_ = false;
    bool sent_in_turn_ = false;
    bool reads_held_ = false;
};

class Listener {
  public:
    ~Listener();
    // Binds and listens; port "0" picks an ephemeral port.
    bool listen(const std::string& host, const std::string& port, std::string& error);
    unsigned port() const { return port_; }
    // Waits at most timeout_ms for one connection; returns the fd or -1.
    // Clients wait in the kernel's queue in the order they connected.
    int accept(unsigned timeout_ms, std::string& error);

  private:
    int fd_ = -1;
    unsigned port_ = 0;
};

} // namespace tlsheap::recorder
