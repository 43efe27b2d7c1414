#include "axtls_growth_transform.h"

#include "tlsheap/mbedtls_call_sites.h"
#include "tlsheap/trace_info.h"

#include <algorithm>
#include <string_view>

namespace tlsheap::replay {

namespace {

using trace::Record;
using trace::Tag;

} // namespace

std::uint64_t AxtlsGrowthTransform::grown_plain_length(std::uint64_t length) {
    const std::uint64_t size = length + kRecordOffset - kExtra;
    const std::uint64_t required = (size + 1023) & ~std::uint64_t{1023};
    return std::min(required, kMaxPlain);
}

AxtlsGrowthTransform::AxtlsGrowthTransform(std::unique_ptr<RecordSource> input,
                                           const Options& options, std::string spec_text)
    : RewrittenStream(std::move(input), "axtls-growth", std::move(spec_text)), options_(options) {}

std::string AxtlsGrowthTransform::dtls_refusal() const {
    return "it is a DTLS recording (meta transport=datagram), and axTLS has no DTLS";
}

void AxtlsGrowthTransform::initialize() {
    certificate_state_ =
        tls::peer_certificate_state(trace::meta::recorder_side(meta(trace::meta::kRecorderSide)));
    site_shared_ = call_site("record buffer");
    site_in_ = call_site("record buffer (in)");
    site_out_ = call_site("record buffer (out)");
    site_free_certs_ = call_site("free received certificates (certificate_free)");
    site_ssl_free_ = call_site("ssl_free");
}

// As read: what the certificate parser leaves behind in the certificate state.
void AxtlsGrowthTransform::observe(const Record& r) {
    if (r.tag == Tag::Free) {
        received_chain_.erase(r.alloc_seq);
        return;
    }
    if (r.tag != Tag::Alloc || r.address == 0 || phase() != trace::Phase::Handshake ||
        state_name(state()) != certificate_state_)
        return;
    const InputBlock* block = live_block(r.seq);
    if (block == nullptr)
        return;
    if (!symbols().symbolized() || symbols().any_function(block->stack, trace::parses_certificate))
        received_chain_.insert(r.seq);
}

void AxtlsGrowthTransform::handle(const Record& r) {
    if (r.tag == Tag::TlsRecord && r.direction == trace::Direction::In) {
        if (first_record_) {
            first_record_ = false;
            const std::uint64_t mfl =
                trace::meta_number(meta(trace::meta::kSslMaxFragmentLengthRequested));
            if (mfl > 0) {
                for (Buffer* b : {&shared_, &in_, &out_})
                    b->max_plain = std::min(b->max_plain, mfl);
            }
        }
        grow_for(options_.shared ? shared_ : in_, r.length);
    } else if (r.tag == Tag::Phase && r.phase != trace::Phase::Handshake &&
               r.phase != trace::Phase::Setup) {
        handshake_over_ = true; // disposable_free: can_free_certificates
    }
    emit_input(r);
}

AxtlsGrowthTransform::Buffer AxtlsGrowthTransform::allocate(std::uint32_t site) {
    Buffer b;
    b.max_plain = options_.initial;
    b.block = add_block(options_.initial + kExtra, site);
    return b;
}

void AxtlsGrowthTransform::replace_record_buffer(trace::Role role, const InputBlock&) {
    // ssl_new allocates bm_all_data; the first record buffer's place is its place.
    if (options_.shared) {
        if (!shared_.block)
            shared_ = allocate(site_shared_);
    } else if (role == trace::Role::InBuffer) {
        if (!in_.block)
            in_ = allocate(site_in_);
    } else if (!out_.block) {
        out_ = allocate(site_out_);
    }
}

void AxtlsGrowthTransform::grow_for(Buffer& buffer, std::uint64_t length) {
    if (!buffer.block || length <= buffer.max_plain + kExtra - kRecordOffset ||
        buffer.max_plain >= kMaxPlain)
        return;
    if (handshake_over_ && options_.purge_certs && !certificates_freed_)
        purge_certificates();
    const std::uint64_t plain = grown_plain_length(length);
    if (plain <= buffer.max_plain)
        return;
    // realloc: the new block is taken before the old one is given back.
    const std::uint32_t site = options_.shared ? site_shared_ : site_in_;
    AddedBlock old = buffer.block;
    buffer.block = add_block(plain + kExtra, site);
    free_block(old, site);
    buffer.max_plain = plain;
}

void AxtlsGrowthTransform::purge_certificates() {
    certificates_freed_ = true;
    const std::vector<std::uint64_t> chain(received_chain_.begin(), received_chain_.end());
    received_chain_.clear();
    for (const std::uint64_t seq : chain)
        release_input_block(seq, site_free_certs_);
}

void AxtlsGrowthTransform::release_record_buffers() {
    free_block(shared_.block, site_ssl_free_);
    free_block(in_.block, site_ssl_free_);
    free_block(out_.block, site_ssl_free_);
}

} // namespace tlsheap::replay
