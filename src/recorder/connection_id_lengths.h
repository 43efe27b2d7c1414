// DTLS: how many connection-ID bytes the transport tap skips in each
// direction's tls12_cid records (RFC 9146), from what mbedTLS knows of the
// context. The recorder's connections and a user's program (program_hooks)
// both call it after every step. Header-only: the program hooks are built
// from a fixed list of sources.
#pragma once

#include "mbedtls_compat.h"
#include "transport_tap.h"

#include <cstddef>
#include <mbedtls/ssl.h>

namespace tlsheap::recorder {

// Records to this side carry its own CID. Records from it carry the peer's,
// which mbedTLS tells only once the handshake is over: until then the tap
// takes the same length (a peer whose CID length differs costs this side's
// encrypted Finished record).
inline void tap_connection_id_lengths([[maybe_unused]] const mbedtls_ssl_context* ssl,
                                      [[maybe_unused]] TransportTap& tap) {
#if defined(MBEDTLS_SSL_DTLS_CONNECTION_ID)
    const mbedtls_ssl_config* conf = ssl->MBEDTLS_PRIVATE(conf);
    if (conf == nullptr || conf->MBEDTLS_PRIVATE(transport) != MBEDTLS_SSL_TRANSPORT_DATAGRAM) {
        return;
    }
    const unsigned own = ssl->MBEDTLS_PRIVATE(own_cid_len);
    unsigned peer = own;
    int enabled = MBEDTLS_SSL_CID_DISABLED;
    unsigned char peer_cid[MBEDTLS_SSL_CID_OUT_LEN_MAX];
    std::size_t peer_len = 0;
    if (mbedtls_ssl_get_peer_cid(const_cast<mbedtls_ssl_context*>(ssl), &enabled, peer_cid,
                                 &peer_len) == 0 &&
        enabled == MBEDTLS_SSL_CID_ENABLED) {
        peer = static_cast<unsigned>(peer_len);
    }
    tap.set_cid_length(trace::Direction::In, own);
    tap.set_cid_length(trace::Direction::Out, peer);
#endif
}

} // namespace tlsheap::recorder
