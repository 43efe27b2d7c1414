// The servers tlsheap starts on 127.0.0.1 for the recorded client, by the
// names scenarios and --peer use.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace tlsheap::record {

// mbedtls: the deterministic mbedTLS peer; openssl: `openssl s_server`;
// gnutls: `gnutls-serv`; nginx: nginx with a generated config; mosquitto:
// the MQTT broker with a generated config (MQTT scenarios only); coap:
// libcoap's coap-server over DTLS (CoAP scenarios only).
inline constexpr std::array<std::string_view, 6> kPeerNames = {"mbedtls", "openssl",   "gnutls",
                                                               "nginx",   "mosquitto", "coap"};

inline bool is_peer_name(std::string_view name) {
    for (const std::string_view p : kPeerNames) {
        if (p == name) {
            return true;
        }
    }
    return false;
}

// "mbedtls, openssl, gnutls, nginx, mosquitto, coap"
inline std::string peer_names_text() {
    std::string text;
    for (const std::string_view p : kPeerNames) {
        text += (text.empty() ? "" : ", ") + std::string(p);
    }
    return text;
}

} // namespace tlsheap::record
