#include "orchestration/scenario.h"

#include "orchestration/peer_kind.h"
#include "tlsheap/recorder_protocol.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tlsheap::record {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A name for a one-line message: control characters as '?'.
std::string printable(std::string text) {
    std::replace_if(
        text.begin(), text.end(),
        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, '?');
    return text;
}

std::string string_field(const json& j, const char* key, const std::string& where,
                         bool required = true) {
    if (!j.contains(key)) {
        if (required) {
            throw ScenarioError(where + ": missing field '" + key + "'");
        }
        return {};
    }
    if (!j.at(key).is_string()) {
        throw ScenarioError(where + ": field '" + key + "' must be a string");
    }
    return j.at(key).get<std::string>();
}

std::vector<std::string> string_list(const json& j, const char* key, const std::string& where) {
    if (!j.contains(key)) {
        return {};
    }
    const json& v = j.at(key);
    if (v.is_string()) {
        return {v.get<std::string>()};
    }
    if (!v.is_array() ||
        !std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); })) {
        throw ScenarioError(where + ": field '" + key + "' must be a string or a list of strings");
    }
    return v.get<std::vector<std::string>>();
}

std::vector<fs::path> path_list(const json& j, const char* key, const std::string& where,
                                const fs::path& base) {
    std::vector<fs::path> paths;
    const std::vector<std::string> names = string_list(j, key, where);
    // Chains are copied into one file for the peer: a bounded number of them.
    if (names.size() > kMaxCredentialFiles) {
        throw ScenarioError(where + ": " + key + " names " + std::to_string(names.size()) +
                            " files, more than " + std::to_string(kMaxCredentialFiles));
    }
    for (const std::string& p : names) {
        const fs::path full = base / p;
        std::error_code ec;
        const fs::file_status status = fs::status(full, ec);
        if (!fs::exists(status)) {
            throw ScenarioError(where + ": " + key + " file " + full.string() + " does not exist");
        }
        if (!fs::is_regular_file(status)) {
            throw ScenarioError(where + ": " + key + " file " + full.string() +
                                " is not a regular file");
        }
        if (fs::file_size(full, ec) > kMaxCredentialBytes) {
            throw ScenarioError(where + ": " + key + " file " + full.string() +
                                " is larger than 1 MiB");
        }
        paths.push_back(full);
    }
    return paths;
}

unsigned count_field(const json& j, const char* key, const std::string& where, unsigned most) {
    if (!j.contains(key)) {
        return 1;
    }
    const json& v = j.at(key);
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() == 0 || v.get<std::uint64_t>() > most) {
        throw ScenarioError(where + ": field '" + key + "' must be a number from 1 to " +
                            std::to_string(most));
    }
    return v.get<unsigned>();
}

// The lifecycle keys: connections, start, reconnects, resume, early_data
// (all optional).
lifecycle::Lifecycle parse_lifecycle(const json& j, const std::string& where) {
    lifecycle::Lifecycle l;
    l.connections = count_field(j, "connections", where, lifecycle::kMaxConnections);
    l.reconnects = count_field(j, "reconnects", where, lifecycle::kMaxReconnects);
    if (j.contains("start")) {
        const std::string start = string_field(j, "start", where);
        const auto parsed = lifecycle::start_from_name(start);
        if (!parsed) {
            throw ScenarioError(where + ": start must be together or staggered, not '" + start +
                                "'");
        }
        l.start = *parsed;
    }
    if (j.contains("resume")) {
        const std::string resume = string_field(j, "resume", where);
        const auto parsed = lifecycle::resume_from_name(resume);
        if (!parsed) {
            throw ScenarioError(where + ": resume must be none, session-id or ticket, not '" +
                                resume + "'");
        }
        l.resume = *parsed;
    }
    if (j.contains("early_data")) {
        if (!j.at("early_data").is_boolean()) {
            throw ScenarioError(where + ": early_data must be true or false");
        }
        l.early_data = j.at("early_data").get<bool>();
    }
    return l;
}

// The "dtls" object (protocol dtls1.2 only) and what goes with it: CoAP runs
// over DTLS, MQTT and HTTP-over-TCP servers over TLS.
void parse_dtls(const json& j, const std::string& where, Scenario& s) {
    using recorder_protocol::Application;
    if (j.contains("dtls")) {
        if (!s.datagram()) {
            throw ScenarioError(where +
                                ": a \"dtls\" object (connection ID, HelloVerifyRequest, "
                                "MTU) needs protocol dtls1.2, not " +
                                s.protocol);
        }
        const json& d = j.at("dtls");
        if (!d.is_object()) {
            throw ScenarioError(where + ": dtls must be an object");
        }
        if (d.contains("connection_id")) {
            const json& c = d.at("connection_id");
            if (!c.is_number_unsigned() ||
                c.get<std::uint64_t>() > recorder_protocol::kMaxCidBytes) {
                throw ScenarioError(where + ": dtls.connection_id must be the CID length, 0 to " +
                                    std::to_string(recorder_protocol::kMaxCidBytes) + " bytes");
            }
            s.connection_id_bytes = c.get<long>();
        }
        if (d.contains("hello_verify")) {
            if (!d.at("hello_verify").is_boolean()) {
                throw ScenarioError(where + ": dtls.hello_verify must be true or false");
            }
            s.hello_verify = d.at("hello_verify").get<bool>();
        }
        if (d.contains("mtu")) {
            const json& m = d.at("mtu");
            if (!m.is_number_unsigned() || m.get<std::uint64_t>() < recorder_protocol::kMinMtu ||
                m.get<std::uint64_t>() > recorder_protocol::kMaxMtu) {
                throw ScenarioError(where + ": dtls.mtu must be from " +
                                    std::to_string(recorder_protocol::kMinMtu) + " to " +
                                    std::to_string(recorder_protocol::kMaxMtu));
            }
            s.mtu = m.get<unsigned>();
        }
    }
    if (s.application == Application::Coap && !s.datagram()) {
        throw ScenarioError(where + ": a coap exchange runs over DTLS (protocol dtls1.2)");
    }
    if (s.application == Application::Mqtt && s.datagram()) {
        throw ScenarioError(where + ": an mqtt exchange runs over TLS, not DTLS");
    }
}

// Which servers speak DTLS: the mbedTLS peer, openssl s_server and
// coap-server (CoAP only, and only that).
void check_transport_peers(const Scenario& s, const std::string& where) {
    const bool coap = s.application == recorder_protocol::Application::Coap;
    for (const std::string& p : s.peers) {
        if (s.datagram() && p != "mbedtls" && p != "openssl" && p != "coap") {
            throw ScenarioError(where + ": peer " + p +
                                " does not speak DTLS (a dtls1.2 scenario runs against mbedtls, "
                                "openssl or coap)");
        }
        if ((p == "coap") != coap && (p == "coap" || p == "openssl")) {
            throw ScenarioError(where + ": peer " + p +
                                (coap ? " does not speak CoAP (a coap exchange runs against "
                                        "mbedtls or coap)"
                                      : " is a CoAP server (its scenario's exchange is coap)"));
        }
    }
}

} // namespace

bool is_hex_key(const std::string& hex) {
    return !hex.empty() && hex.size() % 2 == 0 &&
           hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

bool is_plain_scenario_name(const std::string& name) {
    return !name.empty() && name.front() != '.' &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
           });
}

std::vector<std::string> list_scenarios(const fs::path& scenario_dir) {
    std::vector<std::string> names;
    if (fs::is_directory(scenario_dir)) {
        for (const auto& entry : fs::directory_iterator(scenario_dir)) {
            if (entry.path().extension() == ".json") {
                names.push_back(entry.path().stem().string());
            }
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

Scenario load_scenario(const std::string& name_or_path, const fs::path& scenario_dir) {
    fs::path file;
    if (name_or_path.find('/') != std::string::npos || name_or_path.ends_with(".json")) {
        file = name_or_path;
    } else {
        file = scenario_dir / (name_or_path + ".json");
    }
    if (!fs::exists(file)) {
        std::string known;
        for (const std::string& n : list_scenarios(scenario_dir)) {
            known += (known.empty() ? "" : ", ") + n;
        }
        throw ScenarioError("unknown scenario '" + name_or_path + "' (known: " + known + ")");
    }
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    Scenario s;
    s.file = fs::absolute(file);
    s.json = text.str();
    const std::string where = "scenario " + file.string();
    json j;
    try {
        j = json::parse(s.json);
    } catch (const json::exception& e) {
        // Not only parse_error: a number too large for a double is out_of_range
        // (found by scenario_loader_fuzzer).
        throw ScenarioError(where + " is not valid JSON: " + e.what());
    }
    if (!j.is_object()) {
        throw ScenarioError(where + " must be a JSON object");
    }
    // Certificates and keys are named relative to the scenario file.
    const fs::path base = s.file.parent_path();
    s.name = string_field(j, "name", where);
    if (!is_plain_scenario_name(s.name)) {
        throw ScenarioError(where + ": name '" + printable(s.name) +
                            "' is not a plain name (letters, digits, '.', '_', '-'; not "
                            "starting with '.')");
    }
    s.summary = string_field(j, "summary", where, false);
    s.protocol = string_field(j, "protocol", where);
    if (s.protocol != "tls1.2" && s.protocol != "tls1.3" && s.protocol != "dtls1.2") {
        throw ScenarioError(where + ": protocol must be tls1.2, tls1.3 or dtls1.2, not '" +
                            printable(s.protocol) + "'");
    }
    if (j.contains("ciphersuites")) {
        const json& c = j.at("ciphersuites");
        if (!c.is_object()) {
            throw ScenarioError(
                where +
                ": ciphersuites must be an object {\"mbedtls\": [...], \"openssl\": \"...\"}");
        }
        s.mbedtls_ciphersuites = string_list(c, "mbedtls", where);
        s.openssl_ciphers = string_field(c, "openssl", where, false);
        s.openssl_ciphersuites = string_field(c, "openssl_tls13", where, false);
    }
    s.groups = string_list(j, "groups", where);
    if (!j.contains("authentication") || !j.at("authentication").is_object()) {
        throw ScenarioError(where + ": missing object 'authentication'");
    }
    const json& a = j.at("authentication");
    s.auth_mode = string_field(a, "mode", where);
    if (s.auth_mode == "psk") {
        s.psk_identity = string_field(a, "psk_identity", where);
        s.psk_hex = string_field(a, "psk", where);
        // Both go to the recorder and the peers, which take an empty one
        // for none (TLS 1.3 identities are 1 to 65535 bytes, RFC 8446 4.2.11).
        if (s.psk_identity.empty()) {
            throw ScenarioError(where + ": authentication.psk_identity must not be empty");
        }
        if (!is_hex_key(s.psk_hex)) {
            throw ScenarioError(where +
                                ": authentication.psk must be the key in hex digits, two a byte");
        }
    } else if (s.auth_mode == "certificate" || s.auth_mode == "mutual") {
        s.ca = path_list(a, "ca", where, base);
        s.server_chain = path_list(a, "server_chain", where, base);
        const auto key = path_list(a, "server_key", where, base);
        if (s.ca.empty() || s.server_chain.empty() || key.size() != 1) {
            throw ScenarioError(
                where + ": certificate authentication needs ca, server_chain and one server_key");
        }
        s.server_key = key.front();
        if (s.auth_mode == "mutual") {
            s.client_ca = path_list(a, "client_ca", where, base);
            s.client_chain = path_list(a, "client_chain", where, base);
            const auto ckey = path_list(a, "client_key", where, base);
            if (s.client_ca.empty() || s.client_chain.empty() || ckey.size() != 1) {
                throw ScenarioError(
                    where +
                    ": mutual authentication needs client_ca, client_chain and one client_key");
            }
            s.client_key = ckey.front();
        }
    } else {
        throw ScenarioError(where +
                            ": authentication mode must be certificate, mutual or psk, not '" +
                            s.auth_mode + "'");
    }
    s.server_name = string_field(j, "server_name", where, false);
    if (j.contains("max_fragment_length")) {
        const json& m = j.at("max_fragment_length");
        const bool none = m.is_string() && m.get<std::string>() == "none";
        const bool size =
            m.is_number_unsigned() && (m == 512 || m == 1024 || m == 2048 || m == 4096);
        if (!none && !size) {
            throw ScenarioError(where +
                                ": max_fragment_length must be 512, 1024, 2048, 4096 or \"none\"");
        }
        s.max_fragment_length = none ? -1 : m.get<long>();
    }
    if (j.contains("exchange")) {
        const json& e = j.at("exchange");
        if (!e.is_object() || (e.contains("response_bytes") &&
                               (!e.at("response_bytes").is_number_unsigned() ||
                                e.at("response_bytes").get<std::uint64_t>() > kMaxResponseBytes))) {
            throw ScenarioError(where +
                                ": exchange must be an object with a response_bytes from 0 to " +
                                std::to_string(kMaxResponseBytes));
        }
        s.response_bytes = e.value("response_bytes", 1024ull);
        if (e.contains("application")) {
            const json& a = e.at("application");
            const auto application =
                a.is_string() ? recorder_protocol::application_from_name(a.get<std::string>())
                              : std::nullopt;
            if (!application) {
                throw ScenarioError(
                    where + ": exchange.application must be \"http\", \"mqtt\" or \"coap\"");
            }
            s.application = *application;
        }
        if (e.contains("coap_path")) {
            const std::string path = string_field(e, "coap_path", where);
            if (path.empty() || path.front() != '/' || path.size() > 255 ||
                printable(path) != path) {
                throw ScenarioError(where + ": exchange.coap_path must start with '/' and be at "
                                            "most 255 printable bytes");
            }
            s.coap_path = path;
        }
        if (e.contains("publish_bytes")) {
            if (!e.at("publish_bytes").is_number_unsigned() ||
                e.at("publish_bytes").get<std::uint64_t>() > recorder_protocol::kMaxPublishBytes) {
                throw ScenarioError(where + ": exchange.publish_bytes must be from 0 to " +
                                    std::to_string(recorder_protocol::kMaxPublishBytes));
            }
            s.publish_bytes = e.at("publish_bytes").get<std::uint64_t>();
        }
    }
    parse_dtls(j, where, s);
    s.peers = string_list(j, "peers", where);
    if (s.peers.empty()) {
        s.peers = {"mbedtls"};
    }
    for (const std::string& p : s.peers) {
        if (!is_peer_name(p)) {
            throw ScenarioError(where + ": unknown peer '" + printable(p) + "' (" +
                                peer_names_text() + ")");
        }
    }
    // Only mosquitto speaks MQTT, and it speaks nothing else.
    const bool mqtt = s.application == recorder_protocol::Application::Mqtt;
    for (const std::string& p : s.peers) {
        if ((p == "mosquitto") != mqtt) {
            throw ScenarioError(where + ": peer " + p +
                                (mqtt ? " does not speak MQTT (an mqtt exchange runs against "
                                        "mosquitto)"
                                      : " is an MQTT broker (its scenario's exchange is mqtt)"));
        }
    }
    check_transport_peers(s, where);
    if (s.auth_mode == "psk" &&
        std::find(s.peers.begin(), s.peers.end(), "nginx") != s.peers.end()) {
        throw ScenarioError(where + ": nginx has no TLS-PSK; a PSK scenario runs against the "
                                    "mbedtls, openssl or gnutls peer");
    }
    s.requires_ = string_list(j, "requires", where);
    s.lifecycle = parse_lifecycle(j, where);
    if (j.contains("psa_init")) {
        const json& p = j.at("psa_init");
        const auto policy =
            p.is_string() ? trace::meta::psa_init_from_name(p.get<std::string>()) : std::nullopt;
        if (!policy) {
            throw ScenarioError(where + ": psa_init must be \"auto\", \"always\" or \"never\"");
        }
        s.psa_init = *policy;
    }
    return s;
}

} // namespace tlsheap::record
