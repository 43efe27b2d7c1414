#include "socket_transport.h"

#include "mbedtls_compat.h"
#include "painted_stack.h"
#include "tlsheap/tls_wire.h"

#include <arpa/inet.h>
#include <cerrno>
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
    hints.ai_socktype = SOCK_STREAM;
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
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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
    const int ready = wait_for(self->fd_, POLLOUT, self->timeout_ms_);
    if (ready == 0) {
        self->timed_out_ = true;
        return MBEDTLS_ERR_SSL_TIMEOUT;
    }
    const ssize_t n = ready < 0 ? -1 : ::send(self->fd_, buf, len, MSG_NOSIGNAL);
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

std::optional<unsigned> SocketTransport::unread_plaintext_alert() const {
    // type 21, version (2), length 2, level, description (RFC 5246 6.2.1, 7.2)
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

bool Listener::listen(const std::string& host, const std::string& port, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    addrinfo* list = nullptr;
    const int gai = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
    if (gai != 0) {
        error = "cannot listen on " + describe(host, port) + ": " + gai_strerror(gai);
        return false;
    }
    fd_ = ::socket(list->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        ::freeaddrinfo(list);
        return false;
    }
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd_, list->ai_addr, list->ai_addrlen) != 0 || ::listen(fd_, SOMAXCONN) != 0) {
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

} // namespace tlsheap::recorder
