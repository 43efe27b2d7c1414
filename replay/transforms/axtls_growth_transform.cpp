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
    return "and axTLS has no DTLS (the scheme models TLS over TCP)";
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
        for (auto& [id, c] : contexts_)
            c.received_chain.erase(r.alloc_seq);
        return;
    }
    if (r.tag != Tag::Alloc || r.address == 0 || phase() != trace::Phase::Handshake ||
        state_name(state()) != certificate_state_)
        return;
    const InputBlock* block = live_block(r.seq);
    if (block == nullptr)
        return;
    if (!symbols().symbolized() || symbols().any_function(block->stack, trace::parses_certificate))
        context().received_chain.insert(r.seq);
}

void AxtlsGrowthTransform::handle(const Record& r) {
    Context& c = context();
    if (r.tag == Tag::TlsRecord && r.direction == trace::Direction::In) {
        if (c.first_record) {
            c.first_record = false;
            const std::uint64_t mfl =
                trace::meta_number(meta(trace::meta::kSslMaxFragmentLengthRequested));
            if (mfl > 0) {
                for (Buffer* b : {&c.shared, &c.in, &c.out})
                    b->max_plain = std::min(b->max_plain, mfl);
            }
        }
        grow_for(c, options_.shared ? c.shared : c.in, r.length);
    } else if (r.tag == Tag::Phase && r.phase != trace::Phase::Handshake &&
               r.phase != trace::Phase::Setup) {
        c.handshake_over = true; // disposable_free: can_free_certificates
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
    Context& c = context();
    if (options_.shared) {
        if (!c.shared.block)
            c.shared = allocate(site_shared_);
    } else if (role == trace::Role::InBuffer) {
        if (!c.in.block)
            c.in = allocate(site_in_);
    } else if (!c.out.block) {
        c.out = allocate(site_out_);
    }
}

void AxtlsGrowthTransform::grow_for(Context& c, Buffer& buffer, std::uint64_t length) {
    if (!buffer.block || length <= buffer.max_plain + kExtra - kRecordOffset ||
        buffer.max_plain >= kMaxPlain)
        return;
    if (c.handshake_over && options_.purge_certs && !c.certificates_freed)
        purge_certificates(c);
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

void AxtlsGrowthTransform::purge_certificates(Context& c) {
    c.certificates_freed = true;
    const std::vector<std::uint64_t> chain(c.received_chain.begin(), c.received_chain.end());
    c.received_chain.clear();
    for (const std::uint64_t seq : chain)
        release_input_block(seq, site_free_certs_);
}

void AxtlsGrowthTransform::release_record_buffers() {
    Context& c = context();
    free_block(c.shared.block, site_ssl_free_);
    free_block(c.in.block, site_ssl_free_);
    free_block(c.out.block, site_ssl_free_);
}

} // namespace tlsheap::replay
