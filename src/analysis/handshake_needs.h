// What a recorded handshake really needed, read back from its trace: the
// records that crossed the transport in each direction (largest, largest
// handshake message), the certificate chains parsed, and what was alive at
// the live peak grouped by what it is. `tlsheap advise` proposes config
// changes from this.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::analysis {

// The records of one direction. Sizes are of the record's content (what
// MBEDTLS_SSL_IN/OUT_CONTENT_LEN must hold): the wire length for plaintext
// records, the wire length minus the cipher suite's smallest expansion for
// encrypted ones (an upper bound of the content).
struct DirectionNeeds {
    std::uint64_t records = 0;
    std::uint64_t wire_bytes = 0;
    std::uint64_t largest_wire = 0;
    std::uint64_t largest_content = 0; // any record
    std::string largest_what;          // "application data", "Certificate", ...
    // Handshake content: one message (or several in one record, or one
    // message split over records, summed) that the receiver must hold whole.
    std::uint64_t largest_handshake = 0;
    std::string largest_handshake_what;
};

struct ChainNeeds {
    std::string owner;               // "peer", "trusted CAs", "own"
    std::vector<std::uint64_t> der;  // DER bytes per certificate (copies parsed)
    std::uint64_t alive_at_peak = 0; // bytes of its parse alive at the live peak
    std::uint64_t alive_after_handshake = 0;
};

struct PeakShare {
    std::string what; // "record buffers (in_buf, out_buf)", "peer certificate chain", ...
    std::uint64_t bytes = 0;
    std::uint64_t blocks = 0;
};

struct HandshakeNeeds {
    std::string trace_path;
    std::map<std::string, std::string> meta;
    std::map<std::string, std::string> config; // effective macros
    std::string side;                          // "client" | "server"
    std::string protocol;                      // "TLSv1.2", "" if the handshake failed
    std::string ciphersuite;
    bool handshake_ok = false;
    std::string failure;    // when not ok
    std::string truncation; // when the file stops before its end record

    std::uint64_t expansion = 0; // smallest per-record expansion assumed for encrypted records
    std::string expansion_basis;

    DirectionNeeds in;
    DirectionNeeds out;
    std::uint64_t in_content_len = 0;
    std::uint64_t out_content_len = 0;
    std::uint64_t in_buffer_len = 0;
    std::uint64_t out_buffer_len = 0;
    std::uint64_t max_fragment_requested = 0;

    std::vector<ChainNeeds> chains;
    std::uint64_t live_peak = 0;
    std::string peak_state;
    std::optional<std::uint64_t> steady_state;
    std::uint64_t min_pool = 0;           // mbedtls-pool model
    std::vector<PeakShare> alive_at_peak; // largest first
    // mbedTLS's shared libraries whose static functions the trace could not
    // name (no debug information: "libmbedx509.so.1+0xbd74"), so that what
    // is told apart by them (the DER copies of a chain) is not.
    std::vector<std::string> unnamed_libraries;

    bool defines(const std::string& macro) const { return config.count(macro) != 0; }
    std::string meta_value(const std::string& key) const;
};

// Reads the trace twice (a replay for the figures, a pass for the details).
// Throws trace::TraceError for an unreadable trace.
HandshakeNeeds analyze_handshake(const std::string& trace_path);

// The smallest content bytes a record of `wire` bytes can carry under the
// negotiated cipher suite ("TLSv1.2", "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256"):
// the expansion subtracted, with a one-line basis for reports.
std::uint64_t smallest_expansion(const std::string& protocol, const std::string& suite,
                                 std::string& basis);

// "Certificate", "ClientHello", ... for a handshake message type.
std::string handshake_type_name(unsigned type);

} // namespace tlsheap::analysis
