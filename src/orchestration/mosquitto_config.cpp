#include "orchestration/mosquitto_config.h"

#include <fmt/format.h>

namespace tlsheap::record {

namespace {

std::string path_value(const std::filesystem::path& p) {
    const std::string text = p.string();
    if (text.find_first_of("\r\n") != std::string::npos) {
        throw ScenarioError("mosquitto cannot be given the path " + text +
                            " (it holds a line break)");
    }
    return text;
}

} // namespace

std::string mosquitto_config(const Scenario& s, const MosquittoSite& site) {
    std::string tls = fmt::format("certfile {}\nkeyfile {}\n", path_value(site.credentials.chain),
                                  path_value(site.credentials.key));
    // mosquitto 2.0 takes a minimum version; the client pins the protocol.
    tls += fmt::format("tls_version {}\n", s.protocol == "tls1.3" ? "tlsv1.3" : "tlsv1.2");
    if (s.protocol != "tls1.3" && !s.openssl_ciphers.empty()) {
        tls += fmt::format("ciphers {}\n", s.openssl_ciphers);
    }
    if (s.protocol == "tls1.3" && !s.openssl_ciphersuites.empty()) {
        tls += fmt::format("ciphers_tls1.3 {}\n", s.openssl_ciphersuites);
    }
    if (!site.credentials.client_ca.empty()) {
        tls += fmt::format("cafile {}\nrequire_certificate true\nuse_identity_as_username true\n",
                           path_value(site.credentials.client_ca));
    }
    return fmt::format("# Written by tlsheap for one recording; removed with its directory.\n"
                       "per_listener_settings false\n"
                       "persistence false\n"
                       "log_dest stderr\n"
                       "log_type error\n"
                       "log_type warning\n"
                       "log_type notice\n"
                       "user root\n"
                       "allow_anonymous {}\n"
                       "listener {} 127.0.0.1\n"
                       "{}",
                       site.credentials.client_ca.empty() ? "true" : "false", site.port, tls);
}

} // namespace tlsheap::record
