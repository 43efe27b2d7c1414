#include "orchestration/coap_server.h"

#include "orchestration/record_error.h"

#include <arpa/inet.h>
#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

namespace tlsheap::record {

namespace {

constexpr unsigned kHighestPort = 65535;

std::string loopback(unsigned port) {
    return "127.0.0.1:" + std::to_string(port);
}

// Whether a socket of `type` can be bound to 127.0.0.1:port now (0: any;
// the port bound is then stored in `port`).
bool can_bind(int type, unsigned& port) {
    const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    if (type == SOCK_STREAM) {
        // As coap-server does: a connection in TIME_WAIT does not hold the
        // port, a listener does.
        const int on = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    ::close(fd);
    if (ok) {
        port = ntohs(a.sin_port);
    }
    return ok;
}

bool free_in_udp_and_tcp(unsigned port) {
    unsigned udp = port;
    unsigned tcp = port;
    return can_bind(SOCK_DGRAM, udp) && can_bind(SOCK_STREAM, tcp);
}

bool pair_free(unsigned plain) {
    return plain >= 1 && plain < kHighestPort && free_in_udp_and_tcp(plain) &&
           free_in_udp_and_tcp(plain + 1);
}

std::string key_bytes(const std::string& hex) {
    std::string key;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        key += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    return key;
}

// /proc/net/udp{,6} print an address as the 32-bit words of its bytes in
// memory, each in hex as this host reads it: copying the words back gives
// the bytes in network order on any byte order.
template <std::size_t N>
bool address_bytes(const std::string& hex, std::array<unsigned char, N>& out) {
    if (hex.size() != N * 2) {
        return false;
    }
    for (std::size_t word = 0; word < N / 4; ++word) {
        const auto v = static_cast<std::uint32_t>(std::stoul(hex.substr(word * 8, 8), nullptr, 16));
        std::memcpy(out.data() + word * 4, &v, 4);
    }
    return true;
}

bool is_loopback_or_any(const unsigned char* v4) {
    static constexpr unsigned char kLoopback[4] = {127, 0, 0, 1};
    static constexpr unsigned char kAny[4] = {0, 0, 0, 0};
    return std::memcmp(v4, kLoopback, 4) == 0 || std::memcmp(v4, kAny, 4) == 0;
}

// Whether `local` ("0100007F:162E", its address and port in hex) is one
// 127.0.0.1:port reaches.
bool reaches(const std::string& local, unsigned port, bool v6) {
    const auto colon = local.find(':');
    if (colon == std::string::npos || std::stoul(local.substr(colon + 1), nullptr, 16) != port) {
        return false;
    }
    const std::string address = local.substr(0, colon);
    if (!v6) {
        std::array<unsigned char, 4> a{};
        return address_bytes(address, a) && is_loopback_or_any(a.data());
    }
    std::array<unsigned char, 16> a{};
    if (!address_bytes(address, a)) {
        return false;
    }
    // [::], and IPv4 mapped into IPv6 (::ffff:a.b.c.d), which dual-stack
    // sockets use for IPv4.
    static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static constexpr unsigned char kAny[16] = {};
    return std::memcmp(a.data(), kAny, 16) == 0 ||
           (std::memcmp(a.data(), kMappedPrefix, 12) == 0 && is_loopback_or_any(a.data() + 12));
}

bool bound_in(const char* table, unsigned port, bool v6) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line); // the column names
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot;
        std::string local;
        try {
            if (fields >> slot >> local && reaches(local, port, v6)) {
                return true;
            }
        } catch (const std::logic_error&) {
            // A line not in the kernel's format: not a socket tlsheap knows.
        }
    }
    return false;
}

} // namespace

CoapPorts coap_ports(unsigned requested_dtls) {
    if (requested_dtls != 0) {
        if (requested_dtls < 2 || requested_dtls > kHighestPort) {
            throw RecordError("coap-server's DTLS port must be 2..65535 (it also binds the port "
                              "below), not " +
                                  std::to_string(requested_dtls),
                              2);
        }
        if (!pair_free(requested_dtls - 1)) {
            throw RecordError("port " + loopback(requested_dtls - 1) + " or " +
                                  loopback(requested_dtls) +
                                  " is in use (coap-server binds both, plain CoAP and DTLS, in "
                                  "UDP and TCP)",
                              2);
        }
        return {requested_dtls - 1, requested_dtls};
    }
    // Ports the kernel picks are spread over its ephemeral range: the one
    // above is most often free too.
    for (int attempt = 0; attempt < 64; ++attempt) {
        unsigned plain = 0;
        if (can_bind(SOCK_DGRAM, plain) && pair_free(plain)) {
            return {plain, plain + 1};
        }
    }
    throw RecordError("cannot find two consecutive free ports on 127.0.0.1 for coap-server");
}

std::vector<std::string> coap_server_arguments(const Scenario& s, const CoapSite& site) {
    if (site.port < 2 || site.port > kHighestPort) {
        throw RecordError("coap-server's DTLS port must be 2..65535, not " +
                          std::to_string(site.port));
    }
    // -p P: plain CoAP on P, DTLS on P + 1 (there is no other way to place it).
    std::vector<std::string> a = {kCoapServerProgram, "-A", "127.0.0.1", "-p",
                                  std::to_string(site.port - 1)};
    if (s.auth_mode == "psk") {
        if (!is_hex_key(s.psk_hex)) {
            throw ScenarioError(s.name + ": the PSK must be hex digits, two a byte");
        }
        const std::string key = key_bytes(s.psk_hex);
        if (key.find('\0') != std::string::npos) {
            throw ScenarioError(s.name + ": coap-server takes its PSK as text on its command "
                                         "line, which cannot hold the key's zero byte");
        }
        // -h "": no hint, so no ServerKeyExchange (its default is "CoAP").
        // Without -i every identity gets -k's key: the client's goes unchecked.
        a.insert(a.end(), {"-k", key, "-h", ""});
        return a;
    }
    a.insert(a.end(), {"-c", site.credentials.chain.string(), "-j", site.credentials.key.string()});
    if (s.auth_mode == "mutual") {
        // -C both names the CAs in its CertificateRequest and has the client's
        // certificate verified against them; without it none is requested.
        a.insert(a.end(), {"-C", site.credentials.client_ca.string()});
    }
    return a;
}

bool udp_port_bound(unsigned port) {
    return bound_in("/proc/net/udp", port, false) || bound_in("/proc/net/udp6", port, true);
}

} // namespace tlsheap::record
