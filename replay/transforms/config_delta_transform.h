// config-delta: the allocation stream the same handshake would make under a
// smaller mbedTLS configuration, predicted from the recording. `tlsheap
// advise` predicts its savings with it; `--verify` then rebuilds and measures.
//
//  - in_content_len / out_content_len: MBEDTLS_SSL_IN_CONTENT_LEN /
//    MBEDTLS_SSL_OUT_CONTENT_LEN. mbedtls_ssl_setup allocates each record
//    buffer as CONTENT_LEN plus a fixed overhead (header, IV, MAC, padding,
//    CID), so a full-size buffer shrinks by exactly the difference; a buffer
//    MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH already resized is capped at the new
//    full size. Everything else is assumed unchanged (mbedTLS allocates
//    nothing else by these sizes).
//  - keep_peer_cert=off: MBEDTLS_SSL_KEEP_PEER_CERTIFICATE undefined. Read
//    from mbedTLS 2.28 and 3.6 ssl_tls.c (mbedtls_ssl_parse_certificate and
//    ssl_parse_certificate_chain): the peer's chain is parsed without copying
//    the DER (mbedtls_x509_crt_parse_der_nocopy), so the DER copies made by
//    x509_crt_parse_der_core are never allocated; after verification the chain
//    is freed, a digest of the leaf is kept in the session
//    (MBEDTLS_SSL_PEER_CERT_DIGEST_DFL_LEN bytes, until the session is freed)
//    and the leaf's public key is parsed again into the handshake (the same
//    allocations its first parse made, freed when the handshake ends).
//    The chain is what the recording allocated in the certificate state
//    (SERVER_CERTIFICATE; a server: CLIENT_CERTIFICATE) under the certificate
//    parser and still had at the end of that step; the leaf's key is what
//    mbedtls_pk_parse_subpubkey allocated before the second certificate's
//    structure. TLS 1.3 recordings are refused: mbedTLS 3.6 requires
//    KEEP_PEER_CERTIFICATE for TLS 1.3.
//  - tls13=off: MBEDTLS_SSL_PROTO_TLS1_3 undefined, for a handshake that
//    negotiated TLS 1.2 anyway: the allocations made under TLS 1.3-only code
//    (a function with "tls13" in its name on the stack, e.g. the ClientHello's
//    key share) are never made. An approximation: whatever TLS 1.3 changes
//    in shared code is not seen.
#pragma once

#include "rewritten_stream.h"

#include <set>

namespace tlsheap::replay {

class ConfigDeltaTransform final : public RewrittenStream {
  public:
    struct Options {
        std::uint64_t in_content_len = 0; // 0: as recorded
        std::uint64_t out_content_len = 0;
        bool keep_peer_cert = true;
        bool tls13 = true;
    };

    ConfigDeltaTransform(std::unique_ptr<RecordSource> input, const Options& options,
                         std::string spec_text);

  private:
    void initialize() override;
    void handle(const trace::Record& r) override;
    void finish() override {}
    void replace_record_buffer(trace::Role role, const InputBlock& block) override;
    void release_record_buffers() override;
    std::string dtls_refusal() const override;

    struct PeerChain;
    bool in_certificate_parse(const trace::Record& alloc) const;
    void forget_peer_chain(PeerChain& c);

    Options options_;
    std::uint64_t recorded_len_[2] = {0, 0};    // CONTENT_LEN, by role (in, out)
    std::uint64_t recorded_buffer_[2] = {0, 0}; // BUFFER_LEN, by role
    std::uint64_t digest_len_ = 32;
    std::string certificate_state_;
    std::uint32_t site_digest_ = 0;

    std::map<std::uint64_t, AddedBlock> buffers_; // replacements, by recorded seq
    // keep_peer_cert=off: what each connection's session and handshake hold.
    struct PeerChain {
        bool seen = false;
        bool released = false;
        unsigned certificates = 0;      // parsed so far, in the state
        std::set<std::uint64_t> blocks; // input seqs, alive
        std::vector<std::pair<std::uint64_t, std::uint32_t>> leaf_key; // size, stack
        std::vector<AddedBlock> peer_pubkey;
        AddedBlock digest;
    };
    PeerChain& chain() { return chains_[connection()]; }
    std::map<std::uint32_t, PeerChain> chains_;
};

} // namespace tlsheap::replay
