#include "orchestration/scenario_requirements.h"

#include <sstream>

namespace tlsheap::record {

std::string missing_requirement(const Scenario& s, Side side, const build::MacroSet& macros) {
    std::vector<std::string> needs = s.requires_;
    // What every scenario of its kind needs, so that scenario files stay short.
    needs.push_back(side == Side::Client ? "MBEDTLS_SSL_CLI_C" : "MBEDTLS_SSL_SRV_C");
    needs.push_back(s.protocol == "tls1.3" ? "MBEDTLS_SSL_PROTO_TLS1_3"
                    : s.protocol == "any"  ? "MBEDTLS_SSL_PROTO_TLS1_2|MBEDTLS_SSL_PROTO_TLS1_3"
                                           : "MBEDTLS_SSL_PROTO_TLS1_2");
    if (s.datagram()) {
        needs.push_back("MBEDTLS_SSL_PROTO_DTLS");
        if (s.connection_id_bytes >= 0) {
            needs.push_back("MBEDTLS_SSL_DTLS_CONNECTION_ID");
        }
        if (s.hello_verify && side == Side::Server) {
            needs.push_back("MBEDTLS_SSL_DTLS_HELLO_VERIFY");
            needs.push_back("MBEDTLS_SSL_COOKIE_C");
        }
    }
    if (s.max_fragment_length > 0 && side == Side::Client) {
        needs.push_back("MBEDTLS_SSL_MAX_FRAGMENT_LENGTH");
    }
    if (s.auth_mode != "psk") {
        needs.push_back("MBEDTLS_X509_CRT_PARSE_C");
        needs.push_back("MBEDTLS_PK_PARSE_C");
    }
    for (const std::string& need : needs) {
        std::istringstream alternatives(need);
        std::string name;
        bool found = false;
        while (std::getline(alternatives, name, '|')) {
            found = found || macros.defines(name);
        }
        if (!found) {
            return need;
        }
    }
    return {};
}

} // namespace tlsheap::record
