#include "config_delta_transform.h"

#include "tlsheap/mbedtls_call_sites.h"
#include "tlsheap/trace_info.h"

#include <algorithm>
#include <string_view>

namespace tlsheap::replay {

namespace {

using trace::Record;
using trace::Tag;

bool made_for_tls13(std::string_view f) {
    return f.find("tls13") != std::string_view::npos;
}

bool parses_public_key(std::string_view f) {
    return f.find("pk_parse_subpubkey") != std::string_view::npos;
}

unsigned index_of(trace::Role role) {
    return role == trace::Role::InBuffer ? 0 : 1;
}

} // namespace

ConfigDeltaTransform::ConfigDeltaTransform(std::unique_ptr<RecordSource> input,
                                           const Options& options, std::string spec_text)
    : RewrittenStream(std::move(input), "config-delta", std::move(spec_text)), options_(options) {}

std::string ConfigDeltaTransform::dtls_refusal() const {
    return "whose record buffers are sized by other rules";
}

void ConfigDeltaTransform::initialize() {
    const char* keys[2][2] = {{trace::meta::kSslInContentLen, trace::meta::kSslInBufferLen},
                              {trace::meta::kSslOutContentLen, trace::meta::kSslOutBufferLen}};
    for (unsigned i = 0; i < 2; ++i) {
        recorded_len_[i] = trace::meta_number(meta(keys[i][0]));
        recorded_buffer_[i] = trace::meta_number(meta(keys[i][1]));
        if (recorded_buffer_[i] == 0 && i == 1)
            recorded_buffer_[1] = recorded_buffer_[0] - recorded_len_[0] + recorded_len_[1];
        if (recorded_len_[i] == 0 || recorded_buffer_[i] <= recorded_len_[i])
            refuse("the trace does not say how large the record buffers were (meta " +
                   std::string(keys[i][0]) + ")");
    }
    certificate_state_ =
        tls::peer_certificate_state(trace::meta::recorder_side(meta(trace::meta::kRecorderSide)));
    const auto has = [&](const char* name) { return config().count(name) != 0; };
    // ssl.h: MBEDTLS_SSL_PEER_CERT_DIGEST_DFL_LEN, the first of SHA-256, SHA-384, SHA-1.
    digest_len_ = has("MBEDTLS_SHA256_C") || has("PSA_WANT_ALG_SHA_256")   ? 32
                  : has("MBEDTLS_SHA512_C") || has("PSA_WANT_ALG_SHA_384") ? 48
                                                                           : 20;
    if (!options_.tls13 && !symbols().symbolized())
        refuse("the trace is not symbolized, so TLS 1.3 code cannot be told from the rest");
    if (!options_.keep_peer_cert) {
        if (!symbols().symbolized())
            refuse("the trace is not symbolized, so the peer's certificate chain cannot be told "
                   "from other allocations");
        site_digest_ = call_site("peer certificate digest (ssl_remember_peer_crt_digest)");
    }
}

bool ConfigDeltaTransform::in_certificate_parse(const Record& alloc) const {
    if (alloc.address == 0 || phase() != trace::Phase::Handshake ||
        state_name(state()) != certificate_state_)
        return false;
    return symbols().any_function(alloc.stack, trace::parses_certificate);
}

void ConfigDeltaTransform::handle(const Record& r) {
    if (r.tag == Tag::Free) {
        // A replaced record buffer goes when the recorded one went (at the
        // end, or when MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH resized it).
        if (const auto it = buffers_.find(r.alloc_seq); it != buffers_.end()) {
            free_block(it->second, 0);
            buffers_.erase(it);
        }
    }
    if (!options_.tls13 && r.tag == Tag::Alloc && r.address != 0 &&
        symbols().any_function(r.stack, made_for_tls13)) {
        drop_input_block(r.seq);
        return;
    }
    if (options_.keep_peer_cert) {
        emit_input(r);
        return;
    }
    PeerChain& c = chain();
    switch (r.tag) {
    case Tag::Alloc:
        if (!c.released && in_certificate_parse(r)) {
            if (symbols().any_function(r.stack, made_for_tls13))
                refuse("it is a TLS 1.3 handshake, and mbedTLS requires "
                       "MBEDTLS_SSL_KEEP_PEER_CERTIFICATE for TLS 1.3");
            c.seen = true;
            const std::string site = symbols().call_site(r.stack).function;
            if (site == "x509_crt_parse_der_core") {
                drop_input_block(r.seq); // the DER copy: nocopy parsing never makes it
                return;
            }
            if (site.find("x509_crt_parse_der_internal") != std::string::npos)
                ++c.certificates; // crt->next: a further certificate begins
            if (c.certificates == 0 && symbols().any_function(r.stack, parses_public_key))
                c.leaf_key.emplace_back(r.bytes_asked(), r.stack);
            c.blocks.insert(r.seq);
        }
        break;
    case Tag::Free:
        c.blocks.erase(r.alloc_seq);
        break;
    case Tag::StepEnd:
        if (c.seen && !c.released && state_name(r.state) != certificate_state_) {
            emit_input(r);
            forget_peer_chain(c);
            return;
        }
        break;
    case Tag::Phase:
        if (r.phase != trace::Phase::Handshake && r.phase != trace::Phase::Setup) {
            // mbedtls_ssl_handshake_free: the handshake's copy of the key goes.
            for (AddedBlock& b : c.peer_pubkey)
                free_block(b, 0);
            c.peer_pubkey.clear();
        }
        break;
    default:
        break;
    }
    emit_input(r);
}

// After verification: free the chain, keep a digest and a copy of the key.
void ConfigDeltaTransform::forget_peer_chain(PeerChain& c) {
    c.released = true;
    for (const std::uint64_t seq : c.blocks)
        release_input_block(seq, 0);
    c.blocks.clear();
    c.digest = add_block(digest_len_, site_digest_);
    for (const auto& [size, stack] : c.leaf_key)
        c.peer_pubkey.push_back(add_block(size, stack));
}

void ConfigDeltaTransform::replace_record_buffer(trace::Role role, const InputBlock& block) {
    const unsigned i = index_of(role);
    const std::uint64_t wanted = i == 0 ? options_.in_content_len : options_.out_content_len;
    std::uint64_t size = block.size;
    if (wanted != 0) {
        const std::uint64_t full = recorded_buffer_[i] - recorded_len_[i] + wanted;
        size = block.size == recorded_buffer_[i] ? full : std::min(block.size, full);
    }
    buffers_[block.seq] = add_block(size, block.stack);
}

// mbedtls_ssl_free: the buffers go one by one as recorded (see handle());
// the session's digest goes with them.
void ConfigDeltaTransform::release_record_buffers() {
    free_block(chain().digest, 0);
}

} // namespace tlsheap::replay
