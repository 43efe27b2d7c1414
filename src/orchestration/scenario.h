// A scenario (scenarios/*.json): who talks to whom, with which protocol,
// cipher suites, groups and credentials, and what application data follows
// the handshake. docs/scenarios.md describes the format.
#pragma once

#include "tlsheap/connection_lifecycle.h"
#include "tlsheap/recorder_protocol.h"
#include "tlsheap/trace_meta.h"

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace tlsheap::record {

class ScenarioError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Bounds on what a scenario file makes tlsheap read or write: credentials are
// read whole (by the host and the recorder), the response is written by the
// peer and sent over the connection.
inline constexpr std::uintmax_t kMaxCredentialBytes = 1u << 20;
inline constexpr std::size_t kMaxCredentialFiles = 16; // in each list
inline constexpr unsigned long long kMaxResponseBytes = 16ull << 20;

// A scenario's name becomes file names in the cache (traces, their locks,
// scratch directories): [A-Za-z0-9._-]+, not starting with '.', so that it
// never names a path.
bool is_plain_scenario_name(const std::string& name);

// A pre-shared key as scenarios and --psk give it: hex digits (either
// case), two a byte, at least one byte.
bool is_hex_key(const std::string& hex);

struct Scenario {
    std::string name;
    std::string summary;
    std::filesystem::path file; // where it was loaded from
    std::string json;           // its text, embedded in every trace
    std::string protocol;       // "tls1.2" | "tls1.3" | "dtls1.2"
    std::vector<std::string> mbedtls_ciphersuites;
    std::string openssl_ciphers;                     // TLS 1.2 cipher string for -cipher
    std::string openssl_ciphersuites;                // TLS 1.3 names for -ciphersuites
    std::vector<std::string> groups;                 // IANA names: secp256r1, x25519, ...
    std::string auth_mode;                           // "certificate" | "mutual" | "psk"
    std::vector<std::filesystem::path> ca;           // what the client trusts
    std::vector<std::filesystem::path> server_chain; // leaf first
    std::filesystem::path server_key;
    std::vector<std::filesystem::path> client_ca; // what the server trusts (mutual)
    std::vector<std::filesystem::path> client_chain;
    std::filesystem::path client_key;
    std::string psk_identity;
    std::string psk_hex;
    std::string server_name;
    // The maximum fragment length (RFC 6066) the client asks for: 512, 1024,
    // 2048 or 4096; 0: the recorder's choice (what MBEDTLS_SSL_IN_CONTENT_LEN
    // fits, none at 16384); -1: none.
    long max_fragment_length = 0;
    // DTLS (protocol dtls1.2; the scenario's "dtls" object): the connection
    // ID length both sides offer (RFC 9146; -1: none), whether the mbedTLS
    // peer sends a HelloVerifyRequest (its cookies), and the MTU both sides
    // of an mbedTLS pair fragment handshake messages to (0: none).
    long connection_id_bytes = -1;
    bool hello_verify = false;
    unsigned mtu = 0;
    bool datagram() const { return protocol == "dtls1.2"; }
    // What the client says after the handshake: http (a GET for
    // response_bytes), mqtt (an MQTT session publishing publish_bytes) or
    // coap (over DTLS: a GET of coap_path).
    recorder_protocol::Application application = recorder_protocol::Application::Http;
    std::string coap_path = "/";
    unsigned long long response_bytes = 1024; // at most kMaxResponseBytes
    unsigned long long publish_bytes = 256;   // at most kMaxResponseBytes
    std::vector<std::string> peers;           // peers this scenario works with
    std::vector<std::string> requires_;       // macros ("A|B" = either) the profiled side needs
    lifecycle::Lifecycle lifecycle;           // connections, start, reconnects
    // Whether the driver calls psa_crypto_init before its connections.
    trace::meta::PsaInit psa_init = trace::meta::PsaInit::Auto;
};

// Loads scenarios/NAME.json from `scenario_dir`, or a path to a .json file.
// Throws ScenarioError with a one-line message (unknown scenario: lists the
// known ones).
Scenario load_scenario(const std::string& name_or_path, const std::filesystem::path& scenario_dir);

// Names of every scenario in the directory, sorted.
std::vector<std::string> list_scenarios(const std::filesystem::path& scenario_dir);

} // namespace tlsheap::record
