#include "orchestration/gnutls_server.h"

namespace tlsheap::record {

std::string gnutls_priority(const Scenario& s) {
    std::string priority =
        s.protocol == "tls1.3" ? "NORMAL:-VERS-ALL:+VERS-TLS1.3" : "NORMAL:-VERS-ALL:+VERS-TLS1.2";
    if (s.auth_mode == "psk") {
        priority += ":+PSK:+ECDHE-PSK:+DHE-PSK";
    }
    return priority;
}

std::string gnutls_psk_line(const Scenario& s) {
    return s.psk_identity + ":" + s.psk_hex + "\n";
}

std::vector<std::string> gnutls_serv_arguments(const Scenario& s, const lifecycle::Lifecycle& l,
                                               const GnutlsSite& site) {
    std::vector<std::string> a = {"gnutls-serv", "--port",          std::to_string(site.port),
                                  "--http",      "--httpdata",      site.body.string(),
                                  "--priority",  gnutls_priority(s)};
    if (l.resume == lifecycle::Resume::SessionId) {
        // Tickets off: only the session cache can resume.
        a.push_back("--noticket");
    }
    if (s.auth_mode == "psk") {
        a.insert(a.end(), {"--pskpasswd", site.psk_file.string()});
        return a;
    }
    a.insert(a.end(), {"--x509certfile", site.credentials.chain.string(), "--x509keyfile",
                       site.credentials.key.string()});
    if (s.auth_mode == "mutual") {
        // --require-client-cert alone takes any certificate; verifying it
        // against the CA is a second option.
        a.insert(a.end(), {"--x509cafile", site.credentials.client_ca.string(),
                           "--require-client-cert", "--verify-client-cert"});
    }
    return a;
}

} // namespace tlsheap::record
