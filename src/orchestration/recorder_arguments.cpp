#include "orchestration/recorder_arguments.h"

namespace tlsheap::record {

namespace fs = std::filesystem;

std::string credential_file(const fs::path& pem, bool der) {
    if (der && pem.extension() == ".pem") {
        fs::path alt = pem;
        alt.replace_extension(".der");
        if (fs::exists(alt)) {
            return alt.string();
        }
    }
    return pem.string();
}

std::vector<std::string> lifecycle_arguments(const lifecycle::Lifecycle& l) {
    if (l.single() && l.resume == lifecycle::Resume::None) {
        return {};
    }
    std::vector<std::string> a = {"--connections", std::to_string(l.connections),
                                  "--start",       lifecycle::start_name(l.start),
                                  "--reconnects",  std::to_string(l.reconnects)};
    if (l.resume != lifecycle::Resume::None) {
        a.insert(a.end(), {"--resume", lifecycle::resume_name(l.resume)});
    }
    if (l.early_data) {
        a.push_back("--early-data");
    }
    return a;
}

std::vector<std::string> recorder_arguments(const Scenario& s, Side side, bool der) {
    std::vector<std::string> a;
    // "any" (profile --connect --protocol any): whatever the server and the variant agree on.
    const bool any = s.protocol == "any";
    // DTLS 1.2 is TLS 1.2's handshake over datagrams.
    const std::string version = s.datagram() ? "tls1.2" : s.protocol;
    a.insert(a.end(), {"--min-version", any ? "tls1.2" : version, "--max-version",
                       any ? "tls1.3" : version});
    if (s.datagram()) {
        a.insert(a.end(), {"--transport", trace::meta::kTransportDatagram});
        if (s.connection_id_bytes >= 0) {
            a.insert(a.end(), {"--cid", std::to_string(s.connection_id_bytes)});
        }
        if (s.mtu != 0) {
            a.insert(a.end(), {"--mtu", std::to_string(s.mtu)});
        }
        if (s.hello_verify && side == Side::Server) {
            a.push_back("--cookies");
        }
    }
    for (const std::string& suite : s.mbedtls_ciphersuites) {
        a.insert(a.end(), {"--ciphersuite", suite});
    }
    for (const std::string& group : s.groups) {
        a.insert(a.end(), {"--group", group});
    }
    a.insert(a.end(), {"--response-bytes", std::to_string(s.response_bytes)});
    if (s.application == recorder_protocol::Application::Mqtt && side == Side::Client) {
        a.insert(a.end(),
                 {"--application", std::string(recorder_protocol::application_name(s.application)),
                  "--publish-bytes", std::to_string(s.publish_bytes)});
    }
    if (s.application == recorder_protocol::Application::Coap) {
        a.insert(a.end(),
                 {"--application", std::string(recorder_protocol::application_name(s.application)),
                  "--coap-path", s.coap_path});
    }
    a.insert(a.end(), {"--psa-init", trace::meta::psa_init_name(s.psa_init)});
    auto add_files = [&](const char* option, const std::vector<fs::path>& files) {
        for (const fs::path& f : files) {
            a.insert(a.end(), {option, credential_file(f, der)});
        }
    };
    // The client asks for the scenario's maximum fragment length; a server
    // takes what it is asked for.
    auto add_max_fragment = [&] {
        if (s.max_fragment_length != 0) {
            a.insert(a.end(), {"--max-fragment", s.max_fragment_length < 0
                                                     ? std::string("none")
                                                     : std::to_string(s.max_fragment_length)});
        }
    };
    if (s.auth_mode == "psk") {
        a.insert(a.end(), {"--psk", s.psk_hex, "--psk-identity", s.psk_identity, "--auth", "none"});
        if (side == Side::Client) {
            add_max_fragment();
            if (!s.server_name.empty()) {
                a.insert(a.end(), {"--server-name", s.server_name});
            }
        }
        return a;
    }
    if (side == Side::Client) {
        add_files("--ca", s.ca);
        add_max_fragment();
        a.insert(a.end(), {"--auth", "required"});
        if (!s.server_name.empty()) {
            a.insert(a.end(), {"--server-name", s.server_name});
        }
        if (s.auth_mode == "mutual") {
            add_files("--cert", s.client_chain);
            a.insert(a.end(), {"--key", credential_file(s.client_key, der)});
        }
    } else {
        add_files("--cert", s.server_chain);
        a.insert(a.end(), {"--key", credential_file(s.server_key, der)});
        if (s.auth_mode == "mutual") {
            add_files("--ca", s.client_ca);
            a.insert(a.end(), {"--auth", "required"});
        } else {
            a.insert(a.end(), {"--auth", "none"});
        }
    }
    return a;
}

} // namespace tlsheap::record
