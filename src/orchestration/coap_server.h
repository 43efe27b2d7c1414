// The command line tlsheap gives libcoap's example server (Debian's
// libcoap3-bin 4.3.1) to serve a CoAP scenario over DTLS 1.2, and the ports
// it needs. Its resources are fixed: "/" answers 2.05 with 136 bytes of
// text, "/example_data" 1500 bytes in 1024-byte blocks, a missing path 4.04.
//
// The GnuTLS build, not the OpenSSL one: it sends the whole server chain
// (the OpenSSL build sends the leaf only, so a chain scenario fails to
// verify) and no NewSessionTicket. Both take PSK-AES128-CCM8 and
// ECDHE-ECDSA-AES128-GCM-SHA256.
#pragma once

#include "orchestration/scenario.h"
#include "orchestration/server_credentials.h"

#include <filesystem>
#include <string>
#include <vector>

namespace tlsheap::record {

inline constexpr const char* kCoapServerProgram = "coap-server-gnutls";

struct CoapSite {
    unsigned port = 0;              // the DTLS port the recorder connects to
    ServerCredentials credentials;  // certificate scenarios (copied files)
    std::filesystem::path work_dir; // the run's directory: coap-server's working directory
};

// coap-server has no option for its DTLS port: `-p P` binds plain CoAP on
// UDP and TCP P and DTLS and TLS on UDP and TCP P + 1.
struct CoapPorts {
    unsigned plain = 0; // dtls - 1
    unsigned dtls = 0;
};

// A pair free now on 127.0.0.1 in UDP and TCP: `requested_dtls` and the port
// below it, or, with 0, a pair nothing uses. Throws RecordError (exit code 2
// when a requested port is in use).
CoapPorts coap_ports(unsigned requested_dtls);

// argv, the program first: bound to 127.0.0.1, DTLS on site.port, plain CoAP
// on site.port - 1 (site.port below 2: RecordError). PSK: the key's bytes as the
// text coap-server takes (no hex; a key with a zero byte cannot be given:
// ScenarioError), no identity hint (so no ServerKeyExchange), any identity
// accepted. Certificates: the chain and key; mutual: the client CA, which
// makes it request and verify the client's certificate.
std::vector<std::string> coap_server_arguments(const Scenario& s, const CoapSite& site);

// True when some UDP socket is bound to 127.0.0.1:port or 0.0.0.0:port now
// (or their IPv6 forms [::], [::ffff:127.0.0.1]), read from /proc/net/udp and
// /proc/net/udp6 without sending anything: readiness of a UDP server.
bool udp_port_bound(unsigned port);

} // namespace tlsheap::record
