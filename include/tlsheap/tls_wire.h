// TLS facts that the recorder and the host tools must agree on: the record
// content types and handshake message types (RFC 5246, RFC 8446), the DTLS 1.2
// record and handshake headers (RFC 6347, RFC 9146), the two
// sides of a connection, the handshake state in which a side receives its
// peer's certificate, and the maximum fragment length the recorder's client
// asks for. Header-only and standard C++ only, because the recorder is
// compiled with every mbedTLS variant and for every target ABI.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace tlsheap::tls {

// The first byte of a TLS record header.
enum ContentType : std::uint8_t {
    kChangeCipherSpec = 20,
    kAlert = 21,
    kHandshake = 22,
    kApplicationData = 23,
    kHeartbeat = 24,
    // DTLS 1.2 with a connection ID (RFC 9146): the real type is encrypted.
    kTls12Cid = 25,
};

// "Handshake" for kHandshake: the name viewers show a record by; "record"
// for a type TLS does not define.
inline constexpr const char* content_type_name(std::uint8_t type) {
    switch (type) {
    case kChangeCipherSpec:
        return "ChangeCipherSpec";
    case kAlert:
        return "Alert";
    case kHandshake:
        return "Handshake";
    case kApplicationData:
        return "ApplicationData";
    case kHeartbeat:
        return "Heartbeat";
    case kTls12Cid:
        return "Tls12Cid";
    }
    return "record";
}

// DTLS 1.2 (RFC 6347 4.1): the record header's version, and its layout:
// type 1, version 2, epoch 2, sequence_number 6, length 2. A tls12_cid record
// carries its CID between sequence_number and length (RFC 9146 section 4).
inline constexpr std::uint16_t kDtls12Version = 0xfefd;
inline constexpr unsigned kDtlsRecordHeaderSize = 13;
// The first byte of every DTLS version (DTLS 1.0 is 0xfeff).
inline constexpr std::uint8_t kDtlsVersionMajor = 0xfe;
// Record sequence numbers have 48 bits (uint48 sequence_number).
inline constexpr std::uint64_t kDtlsMaxSequence = (std::uint64_t{1} << 48) - 1;
// Epochs are a uint16.
inline constexpr std::uint64_t kDtlsMaxEpoch = 0xffff;

// A DTLS handshake fragment's header (RFC 6347 4.2.2): msg_type 1, length 3,
// message_seq 2, fragment_offset 3, fragment_length 3.
inline constexpr unsigned kDtlsHandshakeHeaderSize = 12;

// The first byte of a handshake message header (HandshakeType).
enum HandshakeType : std::uint8_t {
    kHelloRequest = 0,
    kClientHello = 1,
    kServerHello = 2,
    kHelloVerifyRequest = 3,
    kNewSessionTicket = 4,
    kEndOfEarlyData = 5,
    kEncryptedExtensions = 8,
    kCertificate = 11,
    kServerKeyExchange = 12,
    kCertificateRequest = 13,
    kServerHelloDone = 14,
    kCertificateVerify = 15,
    kClientKeyExchange = 16,
    kFinished = 20,
    kKeyUpdate = 24,
};

// The side of a connection: what the recorder plays (its --mode), what a
// trace's recorder.side says, what `tlsheap profile --side` asks for.
enum class Side : std::uint8_t { Client, Server };

// "client" or "server": the name in traces and on command lines.
inline constexpr const char* side_name(Side side) {
    return side == Side::Client ? "client" : "server";
}

// The side a name stands for; nullopt for anything but "client" or "server".
inline constexpr std::optional<Side> side_from_name(std::string_view name) {
    if (name == side_name(Side::Client)) {
        return Side::Client;
    }
    if (name == side_name(Side::Server)) {
        return Side::Server;
    }
    return std::nullopt;
}

// The mbedTLS handshake state (prefix stripped) in which `side` parses the
// certificate chain its peer sends: a server reads the client's.
inline constexpr const char* peer_certificate_state(Side side) {
    return side == Side::Server ? "CLIENT_CERTIFICATE" : "SERVER_CERTIFICATE";
}

// The largest record plaintext TLS allows (2^14), the default
// MBEDTLS_SSL_IN_CONTENT_LEN.
inline constexpr std::uint64_t kMaxPlaintextLength = 16384;

// The maximum fragment length (RFC 6066) the recorder's TLS 1.2 client asks
// for when its input buffer holds `in_content_len` bytes: the largest of
// 4096, 2048, 1024, 512 that fits (512 even when none does), and 0 (none)
// for a full-size buffer. advise predicts recordings with the same rule.
inline constexpr std::uint64_t max_fragment_length_for(std::uint64_t in_content_len) {
    if (in_content_len >= kMaxPlaintextLength) {
        return 0;
    }
    for (const std::uint64_t len : {4096u, 2048u, 1024u}) {
        if (len <= in_content_len) {
            return len;
        }
    }
    return 512;
}

// An alert's description by its RFC 8446 6 name ("unknown_ca"), or its
// number when it has none there.
inline std::string alert_name(unsigned description) {
    struct Entry {
        unsigned code;
        const char* name;
    };
    static constexpr Entry kAlerts[] = {{0, "close_notify"},
                                        {10, "unexpected_message"},
                                        {20, "bad_record_mac"},
                                        {22, "record_overflow"},
                                        {40, "handshake_failure"},
                                        {42, "bad_certificate"},
                                        {43, "unsupported_certificate"},
                                        {44, "certificate_revoked"},
                                        {45, "certificate_expired"},
                                        {46, "certificate_unknown"},
                                        {47, "illegal_parameter"},
                                        {48, "unknown_ca"},
                                        {49, "access_denied"},
                                        {50, "decode_error"},
                                        {51, "decrypt_error"},
                                        {70, "protocol_version"},
                                        {71, "insufficient_security"},
                                        {80, "internal_error"},
                                        {86, "inappropriate_fallback"},
                                        {90, "user_canceled"},
                                        {109, "missing_extension"},
                                        {110, "unsupported_extension"},
                                        {112, "unrecognized_name"},
                                        {113, "bad_certificate_status_response"},
                                        {115, "unknown_psk_identity"},
                                        {116, "certificate_required"},
                                        {120, "no_application_protocol"}};
    for (const Entry& e : kAlerts) {
        if (e.code == description) {
            return e.name;
        }
    }
    return "alert " + std::to_string(description);
}

} // namespace tlsheap::tls
