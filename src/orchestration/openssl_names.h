// OpenSSL's names for what scenarios name by IANA, for the servers built on
// OpenSSL (s_server, nginx).
#pragma once

#include <string>
#include <vector>

namespace tlsheap::record {

// "P-256:X25519" for {"secp256r1", "x25519"}; a name OpenSSL shares is kept.
inline std::string openssl_group_list(const std::vector<std::string>& groups) {
    std::string list;
    for (const std::string& g : groups) {
        const std::string name = g == "secp256r1"   ? "P-256"
                                 : g == "secp384r1" ? "P-384"
                                 : g == "secp521r1" ? "P-521"
                                 : g == "x25519"    ? "X25519"
                                 : g == "x448"      ? "X448"
                                                    : g;
        list += (list.empty() ? "" : ":") + name;
    }
    return list;
}

} // namespace tlsheap::record
