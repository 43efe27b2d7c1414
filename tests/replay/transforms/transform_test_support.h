// Shared by the transform tests: a hand-made TLS 1.2 client recording with
// knobs, and a readable log of what a transform added to a stream.
#pragma once

#include "tlsheap/trace_meta.h"
#include "transform_trace_builder.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace tlsheap::testing {

// Handshake states, numbered as mbedTLS 3.6 does (TLS 1.3 ones from 19).
enum State : std::uint32_t {
    HELLO_REQUEST = 0,
    CLIENT_HELLO,
    SERVER_HELLO,
    SERVER_CERTIFICATE,
    SERVER_KEY_EXCHANGE,
    CERTIFICATE_REQUEST,
    SERVER_HELLO_DONE,
    CLIENT_CERTIFICATE,
    CLIENT_KEY_EXCHANGE,
    CERTIFICATE_VERIFY,
    CLIENT_CHANGE_CIPHER_SPEC,
    CLIENT_FINISHED,
    SERVER_CHANGE_CIPHER_SPEC,
    SERVER_FINISHED,
    FLUSH_BUFFERS,
    HANDSHAKE_WRAPUP,
    HANDSHAKE_OVER,
    ENCRYPTED_EXTENSIONS = 19,
    CLIENT_CCS_AFTER_SERVER_FINISHED = 24,
};

// Call stacks of the hand-made recordings.
enum Stack : std::uint32_t {
    kPlainStack = 1,       // some mbedTLS function
    kCertificateStack = 2, // x509_crt_parse_der_core (a DER copy)
    kKeyCertStack = 3,     // ssl_append_key_cert
};

inline constexpr std::uint64_t kInBuf = 0x10000;
inline constexpr std::uint64_t kOutBuf = 0x20000;

struct ClientTraceOptions {
    std::string side = "client";
    std::string transport = "stream";
    bool roles = true;
    bool tls_records = true;
    bool dtls_records = false;    // the TLS records as DTLS records (the meta still says stream)
    bool cbc_sha384 = true;       // O = 333 (else GCM/SHA-256: O = 45)
    bool mutual = false;          // own certificate chain (10000 + 9000 bytes of DER) and key
    bool bundled_ske_shd = false; // ServerKeyExchange and ServerHelloDone in one record
    bool psk = false;             // no Certificate message, no ServerKeyExchange message
    bool tls13 = false;           // the TLS 1.3 flight (encrypted records, compat CCS)
    std::uint32_t app_record = 16408; // a full AES-GCM record: 16384 + 8 + 16
    bool fail_at_server_key_exchange = false;
};

inline void prelude(TransformTraceBuilder& b, const ClientTraceOptions& o) {
    b.meta(trace::meta::kRecorderSide, o.side)
        .meta(trace::meta::kTransport, o.transport)
        .meta(trace::meta::kMbedtlsVersion, "3.6.6")
        .meta(trace::meta::kPointerSize, "4")
        .meta(trace::meta::kSslInContentLen, "16384")
        .meta(trace::meta::kSslOutContentLen, "16384");
    b.config("MBEDTLS_VERSION_MAJOR", "3").config("MBEDTLS_SSL_PROTO_TLS1_2");
    b.config("MBEDTLS_AES_C").config("MBEDTLS_GCM_C").config("MBEDTLS_SHA256_C");
    if (o.cbc_sha384)
        b.config("MBEDTLS_CIPHER_MODE_CBC").config("MBEDTLS_SHA384_C");
    if (o.tls13)
        b.config("MBEDTLS_SSL_PROTO_TLS1_3").config("MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE");
    const char* names[] = {"HELLO_REQUEST",
                           "CLIENT_HELLO",
                           "SERVER_HELLO",
                           "SERVER_CERTIFICATE",
                           "SERVER_KEY_EXCHANGE",
                           "CERTIFICATE_REQUEST",
                           "SERVER_HELLO_DONE",
                           "CLIENT_CERTIFICATE",
                           "CLIENT_KEY_EXCHANGE",
                           "CERTIFICATE_VERIFY",
                           "CLIENT_CHANGE_CIPHER_SPEC",
                           "CLIENT_FINISHED",
                           "SERVER_CHANGE_CIPHER_SPEC",
                           "SERVER_FINISHED",
                           "FLUSH_BUFFERS",
                           "HANDSHAKE_WRAPUP",
                           "HANDSHAKE_OVER"};
    for (std::uint32_t i = 0; i < std::size(names); ++i)
        b.state_name(i, names[i]);
    b.state_name(ENCRYPTED_EXTENSIONS, "ENCRYPTED_EXTENSIONS");
    b.state_name(CLIENT_CCS_AFTER_SERVER_FINISHED, "CLIENT_CCS_AFTER_SERVER_FINISHED");
    b.stack(kPlainStack, 0x400100).frame(0x400100, {"mbedtls_ssl_handshake_step"});
    b.stack(kCertificateStack, 0x400200)
        .frame(0x400200, {"x509_crt_parse_der_core", "mbedtls_x509_crt_parse_der"});
    b.stack(kKeyCertStack, 0x400300).frame(0x400300, {"ssl_append_key_cert"});
}

inline void setup_phase(TransformTraceBuilder& b, const ClientTraceOptions& o) {
    b.phase(trace::Phase::Setup);
    b.activity(true, "ca_chain_parse");
    b.alloc(441, 0x100, kCertificateStack);
    b.alloc(64, 0x200);
    b.alloc(100, 0x300);
    b.free(0x300); // a parser temporary
    b.activity(false, "ca_chain_parse");
    if (o.mutual) {
        b.activity(true, "own_cert_parse");
        b.alloc(10000, 0x1000, kCertificateStack);
        b.alloc(9000, 0x4000, kCertificateStack);
        b.alloc(64, 0x7000);
        b.activity(false, "own_cert_parse");
        b.activity(true, "own_key_parse");
        b.alloc(200, 0x8000);
        b.activity(false, "own_key_parse");
        b.activity(true, "ssl_config");
        b.alloc(40, 0x8400, kKeyCertStack);
        b.activity(false, "ssl_config");
    }
    b.activity(true, "ssl_setup");
    const std::uint64_t in = b.alloc(16717, kInBuf);
    const std::uint64_t out = b.alloc(16717, kOutBuf);
    b.alloc(600, 0x9000);
    if (o.roles)
        b.role(in, trace::Role::InBuffer).role(out, trace::Role::OutBuffer);
    b.activity(false, "ssl_setup");
}

inline void in_record(TransformTraceBuilder& b, const ClientTraceOptions& o, std::uint8_t type,
                      std::uint32_t length, std::vector<std::uint8_t> hs = {}) {
    if (!o.tls_records)
        return;
    if (o.dtls_records)
        b.datagram_record(trace::Direction::In, type, length, 0, 1, 0, std::move(hs));
    else if (!hs.empty())
        b.handshake(trace::Direction::In, length, std::move(hs));
    else
        b.record(trace::Direction::In, type, length);
}

inline void out_record(TransformTraceBuilder& b, const ClientTraceOptions& o, std::uint8_t type,
                       std::uint32_t length, std::vector<std::uint8_t> hs = {}) {
    if (!o.tls_records)
        return;
    if (o.dtls_records)
        b.datagram_record(trace::Direction::Out, type, length, 0, 1, 0, std::move(hs));
    else if (!hs.empty())
        b.handshake(trace::Direction::Out, length, std::move(hs));
    else
        b.record(trace::Direction::Out, type, length);
}

inline void tls12_handshake(TransformTraceBuilder& b, const ClientTraceOptions& o) {
    b.step(HELLO_REQUEST).step_end(CLIENT_HELLO);
    // 3.6 writes the ClientHello without flushing: it leaves in the next step.
    b.step(CLIENT_HELLO);
    b.alloc(100, 0xA000);
    b.free(0xA000);
    b.step_end(SERVER_HELLO);
    b.step(SERVER_HELLO);
    out_record(b, o, 22, 121, {1});
    in_record(b, o, 22, 91, {2});
    b.step_end(SERVER_CERTIFICATE);
    b.step(SERVER_CERTIFICATE);
    if (!o.psk) {
        in_record(b, o, 22, 546, {11});
        b.alloc(300, 0xB000, kCertificateStack); // the peer's certificate, kept
    }
    b.step_end(SERVER_KEY_EXCHANGE);
    b.step(SERVER_KEY_EXCHANGE);
    if (o.psk)
        in_record(b, o, 22, 4, {14}); // read, not a ServerKeyExchange: kept
    else if (o.bundled_ske_shd)
        in_record(b, o, 22, 153, {12, 14});
    else
        in_record(b, o, 22, 149, {12});
    if (o.fail_at_server_key_exchange) {
        b.step_end(SERVER_KEY_EXCHANGE, -0x7080);
        b.outcome(trace::OutcomeKind::Failure, -0x7080, SERVER_KEY_EXCHANGE, "failed");
        return;
    }
    b.step_end(CERTIFICATE_REQUEST);
    b.step(CERTIFICATE_REQUEST);
    if (!o.psk && !o.bundled_ske_shd)
        in_record(b, o, 22, 4, {14}); // a ServerHelloDone: kept for the next step
    b.step_end(SERVER_HELLO_DONE);
    b.step(SERVER_HELLO_DONE).step_end(CLIENT_CERTIFICATE);
    b.step(CLIENT_CERTIFICATE);
    if (o.mutual)
        out_record(b, o, 22, 19013, {11});
    b.step_end(CLIENT_KEY_EXCHANGE);
    b.step(CLIENT_KEY_EXCHANGE);
    b.alloc(50, 0xC000);
    b.free(0xC000);
    out_record(b, o, 22, 70, {16});
    b.step_end(CERTIFICATE_VERIFY);
    b.step(CERTIFICATE_VERIFY);
    if (o.mutual)
        out_record(b, o, 22, 80, {15});
    b.step_end(CLIENT_CHANGE_CIPHER_SPEC);
    b.step(CLIENT_CHANGE_CIPHER_SPEC);
    out_record(b, o, 20, 1);
    b.step_end(CLIENT_FINISHED);
    b.step(CLIENT_FINISHED);
    out_record(b, o, 22, 40);
    b.step_end(SERVER_CHANGE_CIPHER_SPEC);
    b.step(SERVER_CHANGE_CIPHER_SPEC);
    in_record(b, o, 20, 1);
    b.step_end(SERVER_FINISHED);
    b.step(SERVER_FINISHED);
    in_record(b, o, 22, 40);
    b.step_end(FLUSH_BUFFERS);
    b.step(FLUSH_BUFFERS).step_end(HANDSHAKE_WRAPUP);
    b.step(HANDSHAKE_WRAPUP).step_end(HANDSHAKE_OVER);
}

// mbedTLS 3.6's TLS 1.3 client flight against a server that sends each
// message in its own record, with the middlebox-compatibility CCS.
inline void tls13_handshake(TransformTraceBuilder& b, const ClientTraceOptions& o) {
    b.step(HELLO_REQUEST).step_end(CLIENT_HELLO);
    b.step(CLIENT_HELLO);
    b.alloc(100, 0xA000);
    b.free(0xA000);
    b.step_end(SERVER_HELLO);
    b.step(SERVER_HELLO);
    out_record(b, o, 22, 230, {1});
    in_record(b, o, 22, 155, {2});
    b.step_end(ENCRYPTED_EXTENSIONS);
    b.step(ENCRYPTED_EXTENSIONS);
    in_record(b, o, 20, 1);
    in_record(b, o, 23, 32);
    b.step_end(CERTIFICATE_REQUEST);
    b.step(CERTIFICATE_REQUEST);
    in_record(b, o, 23, 576); // the Certificate: kept for SERVER_CERTIFICATE
    b.step_end(SERVER_CERTIFICATE);
    b.step(SERVER_CERTIFICATE);
    b.alloc(300, 0xB000, kCertificateStack);
    b.step_end(CERTIFICATE_VERIFY);
    b.step(CERTIFICATE_VERIFY);
    in_record(b, o, 23, 96);
    b.step_end(SERVER_FINISHED);
    b.step(SERVER_FINISHED);
    in_record(b, o, 23, 64);
    b.step_end(CLIENT_CCS_AFTER_SERVER_FINISHED);
    b.step(CLIENT_CCS_AFTER_SERVER_FINISHED).step_end(CLIENT_CERTIFICATE);
    b.step(CLIENT_CERTIFICATE);
    out_record(b, o, 20, 1); // the CCS of the step before, flushed first
    b.step_end(CLIENT_FINISHED);
    b.step(CLIENT_FINISHED);
    b.alloc(40, 0xC000);
    b.free(0xC000);
    b.step_end(FLUSH_BUFFERS);
    b.step(FLUSH_BUFFERS);
    out_record(b, o, 23, 64);
    b.step_end(HANDSHAKE_WRAPUP);
    b.step(HANDSHAKE_WRAPUP).step_end(HANDSHAKE_OVER);
}

inline std::vector<unsigned char> client_trace(const ClientTraceOptions& o = {}) {
    TransformTraceBuilder b;
    prelude(b, o);
    setup_phase(b, o);
    b.phase(trace::Phase::Handshake);
    if (o.tls13)
        tls13_handshake(b, o);
    else
        tls12_handshake(b, o);
    if (!o.fail_at_server_key_exchange) {
        b.outcome(trace::OutcomeKind::Handshake, 0, HANDSHAKE_OVER, "TLSv1.2");
        b.phase(trace::Phase::Application);
        out_record(b, o, 23, 73);
        in_record(b, o, 23, o.app_record);
        b.outcome(trace::OutcomeKind::Application, 0, HANDSHAKE_OVER, "sent received");
        b.phase(trace::Phase::Close);
        out_record(b, o, 21, 26);
    }
    b.phase(trace::Phase::Teardown);
    b.free(kOutBuf).free(kInBuf).free(0x9000);
    if (!o.psk && !o.fail_at_server_key_exchange)
        b.free(0xB000);
    if (o.mutual)
        b.free(0x8400).free(0x8000).free(0x1000).free(0x4000).free(0x7000);
    b.free(0x100).free(0x200);
    return b.finish();
}

// A handshake that ends by replacing in_buf with a smaller one, as
// MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH does: the new buffer is named by a Role
// record after the step.
inline std::vector<unsigned char> resized_buffer_trace() {
    TransformTraceBuilder b;
    ClientTraceOptions o;
    prelude(b, o);
    setup_phase(b, o);
    b.phase(trace::Phase::Handshake);
    b.step(SERVER_HELLO).handshake(trace::Direction::In, 91, {2}).step_end(SERVER_CERTIFICATE);
    b.step(HANDSHAKE_WRAPUP);
    const std::uint64_t in = b.alloc(4000, 0x30000);
    b.free(kInBuf);
    b.step_end(HANDSHAKE_OVER);
    b.role(in, trace::Role::InBuffer);
    b.phase(trace::Phase::Application);
    b.record(trace::Direction::In, 23, 100);
    b.phase(trace::Phase::Teardown);
    b.free(kOutBuf).free(0x30000).free(0x9000).free(0x100).free(0x200);
    return b.finish();
}

// What a transform added or released, in order, one line each, with the
// handshake step it happened in: "SERVER_HELLO:", "+432 RX buffer",
// "-432 RX buffer" (a free names what it frees), "-441 free CA chain
// (FREE_CA_CERT)" (an input allocation released early, by the releasing
// call site).
inline std::vector<std::string> added_events(const std::vector<trace::Record>& records,
                                             const std::string& transform) {
    const std::string prefix = transform + ": ";
    std::unordered_map<std::uint64_t, std::string> frame_name;
    std::unordered_map<std::uint32_t, std::uint64_t> stack_frame;
    // The added call site an event's stack names, or "".
    auto site_of = [&](std::uint32_t stack) -> std::string {
        const auto f = stack_frame.find(stack);
        if (f == stack_frame.end())
            return "";
        const auto n = frame_name.find(f->second);
        if (n == frame_name.end() || !n->second.starts_with(prefix))
            return "";
        return n->second.substr(prefix.size());
    };
    std::unordered_map<std::uint32_t, std::string> state;
    struct Made {
        std::uint64_t size;
        std::string site; // "" for an allocation of the recording
    };
    std::unordered_map<std::uint64_t, Made> made;
    std::vector<std::string> log;
    for (const trace::Record& r : records) {
        switch (r.tag) {
        case trace::Tag::Frame:
            frame_name[r.address] = r.levels.empty() ? "" : r.levels[0].function;
            break;
        case trace::Tag::Stack:
            if (!r.frames.empty())
                stack_frame[r.stack] = r.frames[0];
            break;
        case trace::Tag::StateName:
            state[r.state] = r.value;
            break;
        case trace::Tag::StepBegin:
            log.push_back(state[r.state] + ":");
            break;
        case trace::Tag::Alloc: {
            const std::string s = site_of(r.stack);
            made[r.seq] = {r.count * r.size, s};
            if (!s.empty())
                log.push_back("+" + std::to_string(r.count * r.size) + " " + s);
            break;
        }
        case trace::Tag::Free: {
            const auto m = made.find(r.alloc_seq);
            if (m == made.end())
                break;
            if (!m->second.site.empty())
                log.push_back("-" + std::to_string(m->second.size) + " " + m->second.site);
            else if (const std::string s = site_of(r.stack); !s.empty())
                log.push_back("-" + std::to_string(m->second.size) + " " + s);
            made.erase(m);
            break;
        }
        default:
            break;
        }
    }
    return log;
}

} // namespace tlsheap::testing
