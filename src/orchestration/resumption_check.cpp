#include "orchestration/resumption_check.h"

namespace tlsheap::record {

namespace {

std::string early_data_problem(const Scenario& scenario, const lifecycle::Lifecycle& l,
                               const std::string& peer) {
    if (scenario.protocol != "tls1.3" || l.resume != lifecycle::Resume::Ticket) {
        return "--early-data needs a TLS 1.3 scenario and --resume ticket: 0-RTT data rides on a "
               "resumed TLS 1.3 session (RFC 8446 2.3)";
    }
    if (peer == "openssl") {
        // tlsheap needs s_server -WWW to answer the GET, and OpenSSL 3.0's
        // s_server refuses "-early_data in combination with -www, -WWW,
        // -HTTP, or -rev".
        return "--early-data needs the mbedtls peer: openssl s_server cannot read early data in "
               "its -WWW mode, which answers the scenario's GET";
    }
    if (peer == "gnutls" || peer == "nginx") {
        // Neither is set up for 0-RTT data here: nginx needs ssl_early_data
        // and an application that copes with replays, gnutls-serv --earlydata
        // a data size; the mbedTLS peer's reading of it is what is recorded.
        return "--early-data needs the mbedtls peer (tlsheap does not set up 0-RTT data on " +
               peer + ")";
    }
    return {};
}

} // namespace

std::string resumption_problem(const Scenario& scenario, const lifecycle::Lifecycle& l,
                               const std::string& peer) {
    if (l.early_data) {
        if (std::string problem = early_data_problem(scenario, l, peer); !problem.empty()) {
            return problem;
        }
    }
    if (l.resume == lifecycle::Resume::None) {
        return {};
    }
    const std::string option = std::string("--resume ") + lifecycle::resume_name(l.resume);
    if (l.single()) {
        return option + " needs a second connection to resume the first one's session: add "
                        "--reconnects or --connections above 1";
    }
    if (scenario.protocol == "tls1.3") {
        if (l.resume == lifecycle::Resume::SessionId) {
            return option + ": TLS 1.3 has no session-ID resumption (RFC 8446 2.2); use --resume "
                            "ticket";
        }
        if (scenario.auth_mode == "psk") {
            // A resumed handshake and one with the external PSK would look
            // alike, and the ticket's PSK would compete with the configured one.
            return option + ": scenario " + scenario.name +
                   " authenticates with an external PSK in TLS 1.3; resumption needs a "
                   "certificate scenario";
        }
    }
    // Every peer tlsheap starts is set up to resume (a session cache, or
    // tickets); of a server the user runs (external) nothing is known: the
    // trace says NotResumed for every connection it refused.
    return {};
}

} // namespace tlsheap::record
