#include "socket_transport.h"

#include "mbedtls_compat.h"
#include "painted_stack.h"
#include "tlsheap/recorder_protocol.h"
#include "tlsheap/tls_wire.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tlsheap::recorder {

namespace {

// Waits for `events` on fd; returns >0 ready, 0 timeout, <0 error.
int wait_for(int fd, short events, unsigned timeout_ms) {
    pollfd p{fd, events, 0};
    for (;;) {
        const int r = ::poll(&p, 1, static_cast<int>(timeout_ms));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        return r;
    }
}

std::string describe(const std::string& host, const std::string& port) {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
}

} // namespace

SocketTransport::~SocketTransport() {
    close();
}

void SocketTransport::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool SocketTransport::connect(const std::string& host, const std::string& port,
                              std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = datagram_ ? SOCK_DGRAM : SOCK_STREAM;
    addrinfo* list = nullptr;
    const int gai = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
    if (gai != 0) {
        error = "cannot resolve " + describe(host, port) + ": " + gai_strerror(gai);
        return false;
    }
    int last = ECONNREFUSED;
    for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
        const int fd =
            ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int r = ::connect(fd, a->ai_addr, a->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS) {
            r = wait_for(fd, POLLOUT, timeout_ms_);
            if (r == 0) {
                ::close(fd);
                ::freeaddrinfo(list);
                timed_out_ = true;
                error = "connecting to " + describe(host, port) + " timed out after " +
                        std::to_string(timeout_ms_) + " ms";
                return false;
            }
            int so_error = 0;
            socklen_t len = sizeof(so_error);
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
            r = so_error == 0 ? 0 : -1;
            errno = so_error;
        }
        if (r == 0) {
            // Back to blocking: every read and write below waits with poll().
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            if (!datagram_) {
                const int one = 1;
                ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            }
            fd_ = fd;
            ::freeaddrinfo(list);
            return true;
        }
        last = errno;
        ::close(fd);
    }
    ::freeaddrinfo(list);
    error = "cannot connect to " + describe(host, port) + ": " + std::strerror(last);
    return false;
}

int SocketTransport::bio_send(void* ctx, const unsigned char* buf, std::size_t len) {
    auto* self = static_cast<SocketTransport*>(ctx);
    ssize_t n = -1;
    if (self->listener_ != nullptr) {
        StackExcursion excursion;
        n = self->listener_->send(self->client_, buf, len);
    } else {
        const int ready = wait_for(self->fd_, POLLOUT, self->timeout_ms_);
        if (ready == 0) {
            self->timed_out_ = true;
            return MBEDTLS_ERR_SSL_TIMEOUT;
        }
        n = ready < 0 ? -1 : ::send(self->fd_, buf, len, MSG_NOSIGNAL);
    }
    if (n < 0) {
        self->last_errno_ = errno;
        return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
                                                     : MBEDTLS_ERR_NET_SEND_FAILED;
    }
    {
        // The tap is the recorder's work, not the device's.
        StackExcursion excursion;
        self->tap_.observe(trace::Direction::Out, buf, static_cast<std::size_t>(n));
    }
    self->sent_in_turn_ = true;
    return static_cast<int>(n);
}

int SocketTransport::bio_recv(void* ctx, unsigned char* buf, std::size_t len) {
    auto* self = static_cast<SocketTransport*>(ctx);
    if ((self->in_turns_ && self->sent_in_turn_) || self->reads_held_) {
        return MBEDTLS_ERR_SSL_WANT_READ; // our flight is out: the peer's turn
    }
    const int ready = wait_for(self->fd_, POLLIN, self->timeout_ms_);
    if (ready == 0) {
        self->timed_out_ = true;
        return MBEDTLS_ERR_SSL_TIMEOUT;
    }
    const ssize_t n = ready < 0 ? -1 : ::recv(self->fd_, buf, len, 0);
    if (n < 0) {
        self->last_errno_ = errno;
        return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
    }
    {
        StackExcursion excursion;
        self->tap_.observe(trace::Direction::In, buf, static_cast<std::size_t>(n));
    }
    return static_cast<int>(n);
}

int SocketTransport::receive_datagram(unsigned char* buf, std::size_t len) {
    using recorder_protocol::kRetransmitQuietMs;
    for (;;) {
        // After a drop, the rest of the peer's flight arrives at once on
        // loopback (mbedTLS sends a flight at its end); a quiet socket then
        // means the dropped datagram is what the handshake waits for, and
        // the peer waits for us: the recorder's timer fires, once.
        const unsigned wait = drop_outstanding_ ? kRetransmitQuietMs : timeout_ms_;
        std::string datagram;
        bool got = false;
        if (listener_ != nullptr) {
            got = listener_->receive(client_, datagram, wait);
        } else {
            const int ready = wait_for(fd_, POLLIN, wait);
            if (ready < 0) {
                last_errno_ = errno;
                return MBEDTLS_ERR_NET_RECV_FAILED;
            }
            if (ready > 0) {
                datagram.resize(len);
                ssize_t n = ::recv(fd_, datagram.data(), len, 0);
                if (n < 0 && errno == ECONNREFUSED) {
                    // Linux reports an ICMP port unreachable (the peer's socket
                    // closed after our last send) before datagrams already
                    // queued: the server's last answer may still be there.
                    n = ::recv(fd_, datagram.data(), len, MSG_DONTWAIT);
                    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        errno = ECONNREFUSED;
                    }
                }
                if (n < 0) {
                    // ECONNREFUSED: an ICMP port unreachable, nothing listens there.
                    last_errno_ = errno;
                    return errno == ECONNREFUSED ? MBEDTLS_ERR_NET_CONN_RESET
                                                 : MBEDTLS_ERR_NET_RECV_FAILED;
                }
                datagram.resize(static_cast<std::size_t>(n));
                got = true;
            }
        }
        if (!got) {
            if (drop_outstanding_) {
                drop_outstanding_ = false;
                ++timer_fires_;
                return MBEDTLS_ERR_SSL_TIMEOUT; // mbedTLS resends its last flight
            }
            // Not MBEDTLS_ERR_SSL_TIMEOUT: mbedTLS would take that for its
            // retransmission timer and retry for a minute.
            timed_out_ = true;
            return MBEDTLS_ERR_NET_RECV_FAILED;
        }
        ++received_;
        const bool drop = received_ == drop_k_;
        tap_.observe(trace::Direction::In, reinterpret_cast<const unsigned char*>(datagram.data()),
                     datagram.size(), drop);
        if (drop) {
            // Until the timer fires: the rest of the flight still comes.
            drop_outstanding_ = true;
            continue;
        }
        const std::size_t n = std::min(len, datagram.size());
        std::memcpy(buf, datagram.data(), n);
        return static_cast<int>(n);
    }
}

int SocketTransport::bio_recv_timeout(void* ctx, unsigned char* buf, std::size_t len,
                                      std::uint32_t /*timeout*/) {
    auto* self = static_cast<SocketTransport*>(ctx);
    if ((self->in_turns_ && self->sent_in_turn_) || self->reads_held_) {
        return MBEDTLS_ERR_SSL_WANT_READ; // our flight is out: the peer's turn
    }
    // Queues, drops and the tap are the recorder's work, not the device's.
    StackExcursion excursion;
    return self->receive_datagram(buf, len);
}

void SocketTransport::set_timer(void* ctx, std::uint32_t /*intermediate_ms*/,
                                std::uint32_t final_ms) {
    static_cast<SocketTransport*>(ctx)->timer_running_ = final_ms != 0;
}

int SocketTransport::get_timer(void* ctx) {
    // -1: cancelled; 0: running and not expired. It expires only through
    // receive_datagram (see socket_transport.h).
    return static_cast<SocketTransport*>(ctx)->timer_running_ ? 0 : -1;
}

std::string SocketTransport::client_transport_id() const {
    return listener_ != nullptr ? listener_->client_id(client_) : std::string();
}

std::optional<unsigned> SocketTransport::unread_plaintext_alert() const {
    // type 21, version (2), length 2, level, description (RFC 5246 6.2.1, 7.2)
    if (datagram_) {
        return std::nullopt; // a DTLS alert is a record mbedTLS reads itself
    }
    unsigned char record[7];
    const ssize_t n = ::recv(fd_, record, sizeof(record), MSG_PEEK | MSG_DONTWAIT);
    if (n != static_cast<ssize_t>(sizeof(record)) || record[0] != tls::kAlert || record[3] != 0 ||
        record[4] != 2) {
        return std::nullopt;
    }
    return record[6];
}

Listener::~Listener() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

bool Listener::listen(const std::string& host, const std::string& port, bool datagram,
                      std::string& error) {
    datagram_ = datagram;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = datagram ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    addrinfo* list = nullptr;
    const int gai = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
    if (gai != 0) {
        error = "cannot listen on " + describe(host, port) + ": " + gai_strerror(gai);
        return false;
    }
    fd_ = ::socket(list->ai_family, (datagram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        ::freeaddrinfo(list);
        return false;
    }
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd_, list->ai_addr, list->ai_addrlen) != 0 ||
        (!datagram && ::listen(fd_, SOMAXCONN) != 0)) {
        const int e = errno;
        error = e == EADDRINUSE
                    ? "port " + describe(host, port) + " is in use"
                    : "cannot listen on " + describe(host, port) + ": " + std::strerror(e);
        ::freeaddrinfo(list);
        return false;
    }
    ::freeaddrinfo(list);
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    return true;
}

int Listener::accept(unsigned timeout_ms, std::string& error) {
    const int r = wait_for(fd_, POLLIN, timeout_ms);
    if (r == 0) {
        error = "no client connected within " + std::to_string(timeout_ms) + " ms";
        return -1;
    }
    const int fd = r < 0 ? -1 : ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
        error = std::string("accept: ") + std::strerror(errno);
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

namespace {

// Bounds on what unknown senders can make a DTLS listener keep.
constexpr std::size_t kMaxDatagramClients = 1024;
constexpr std::size_t kMaxQueuedDatagrams = 256;

} // namespace

bool Listener::pump(unsigned timeout_ms) {
    if (wait_for(fd_, POLLIN, timeout_ms) <= 0) {
        return false;
    }
    buffer_.resize(64 * 1024); // the largest UDP payload
    sockaddr_storage from{};
    socklen_t from_length = sizeof(from);
    const ssize_t n = ::recvfrom(fd_, buffer_.data(), buffer_.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n < 0) {
        return false;
    }
    auto same = [&](const Client& c) {
        return c.length == from_length && std::memcmp(&c.address, &from, from_length) == 0;
    };
    auto it = std::find_if(clients_.begin(), clients_.end(), same);
    if (it == clients_.end()) {
        if (clients_.size() >= kMaxDatagramClients) {
            return true; // read and ignored
        }
        Client c;
        c.address = from;
        c.length = from_length;
        clients_.push_back(std::move(c));
        it = clients_.end() - 1;
    }
    if (it->queue.size() < kMaxQueuedDatagrams) {
        it->queue.emplace_back(reinterpret_cast<const char*>(buffer_.data()),
                               static_cast<std::size_t>(n));
    }
    return true;
}

template <typename Ready>
bool Listener::pump_until(Ready ready, unsigned timeout_ms) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!ready()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              give_up - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0) {
            return false;
        }
        if (!pump(static_cast<unsigned>(left))) {
            return ready(); // the time is up (or the socket failed)
        }
        // One more datagram, maybe another client's: look again.
    }
    return true;
}

long Listener::accept_client(unsigned timeout_ms, std::string& error) {
    auto waiting = [&] {
        return std::find_if(clients_.begin(), clients_.end(),
                            [](const Client& c) { return !c.accepted && !c.queue.empty(); });
    };
    if (!pump_until([&] { return waiting() != clients_.end(); }, timeout_ms)) {
        error = "no client sent a datagram within " + std::to_string(timeout_ms) + " ms";
        return -1;
    }
    const auto client = waiting();
    client->accepted = true;
    return client - clients_.begin();
}

bool Listener::receive(std::size_t client, std::string& datagram, unsigned timeout_ms) {
    if (!pump_until([&] { return !clients_[client].queue.empty(); }, timeout_ms)) {
        return false;
    }
    datagram = std::move(clients_[client].queue.front());
    clients_[client].queue.pop_front();
    return true;
}

long Listener::send(std::size_t client, const unsigned char* data, std::size_t size) {
    const Client& c = clients_[client];
    return ::sendto(fd_, data, size, MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&c.address),
                    c.length);
}

std::string Listener::client_id(std::size_t client) const {
    const Client& c = clients_[client];
    return std::string(reinterpret_cast<const char*>(&c.address), c.length);
}

} // namespace tlsheap::recorder
