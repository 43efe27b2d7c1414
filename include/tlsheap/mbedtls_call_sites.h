// What the names of mbedTLS functions on an allocation's call stack say
// about it: shared by the transforms that rewrite certificate allocations
// and by advise, which attributes them.
#pragma once

#include <string_view>

namespace tlsheap::trace {

// The X.509 parser or the TLS code that feeds it the peer's Certificate
// message (TLS 1.2 and 1.3; mbedTLS 2.28 and 3.6 names).
inline bool parses_certificate(std::string_view function) {
    return function.find("x509_crt_parse") != std::string_view::npos ||
           function == "ssl_parse_certificate_chain" ||
           function == "mbedtls_ssl_parse_certificate" ||
           function.find("tls13_parse_certificate") != std::string_view::npos;
}

} // namespace tlsheap::trace
