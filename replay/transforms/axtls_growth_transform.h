// axtls-growth: the allocation stream with axTLS-style record buffers, as the
// ESP8266 Arduino core uses them (igrr/axtls-8266).
//
// Rules read from igrr/axtls-8266 ssl/tls1.c and ssl/tls1.h:
//  - ssl_new: one record buffer, bm_all_data, for both directions, of
//    max_plain_length + RT_EXTRA bytes, max_plain_length = 1460 * 4 = 5840
//    (option `initial`), RT_EXTRA = 1024. Option shared=off gives each
//    direction its own buffer instead (not axTLS; a what-if).
//  - basic_read: when the header of an arriving record says need_bytes >
//    max_plain_length + RT_EXTRA - BM_RECORD_OFFSET (5),
//    increase_bm_data_size(need_bytes + 5 - RT_EXTRA) reallocs the buffer to
//    roundup(size, 1024), capped at RT_MAX_PLAIN_LENGTH (16384), + RT_EXTRA;
//    at 16384 it no longer grows. It never shrinks. The realloc is modelled as
//    allocate-new then free-old (a transform cannot know whether the heap
//    would extend the block in place).
//  - ssl_write cuts writes at max_plain_length, so sending never grows it.
//  - disposable_free (end of the handshake) sets can_free_certificates;
//    increase_bm_data_size then frees the received certificate chain
//    (certificate_free) before growing, once (option purge_certs); otherwise
//    it stays until ssl_free.
//  - ssl_free frees the buffer.
// MODELS.md: a negotiated max fragment length caps max_plain_length without
// reallocating (applied when the first record arrives, from the metadata
// ssl.max_fragment_length_requested).
//
// The received chain is what the recording allocated in the SERVER_CERTIFICATE
// state (a server: CLIENT_CERTIFICATE) under the certificate parser (a stack
// through x509_crt_parse*, ssl_parse_certificate_chain,
// mbedtls_ssl_parse_certificate or mbedtls_ssl_tls13_parse_certificate; in an
// unsymbolized trace, everything allocated in that state) and still alive
// when the handshake ends.
#pragma once

#include "rewritten_stream.h"

#include <map>
#include <set>

namespace tlsheap::replay {

class AxtlsGrowthTransform final : public RewrittenStream {
  public:
    struct Options {
        std::uint64_t initial = 5840; // ssl_new's max_plain_length
        bool shared = true;           // one buffer for both directions
        bool purge_certs = true;      // certificate_free at the first growth after the handshake
    };

    static constexpr std::uint64_t kExtra = 1024;     // RT_EXTRA
    static constexpr std::uint64_t kMaxPlain = 16384; // RT_MAX_PLAIN_LENGTH
    static constexpr std::uint64_t kRecordOffset = 5; // BM_RECORD_OFFSET

    // increase_bm_data_size for an arriving record of `length` bytes: the new
    // max_plain_length (the buffer holds that + kExtra).
    static std::uint64_t grown_plain_length(std::uint64_t length);

    AxtlsGrowthTransform(std::unique_ptr<RecordSource> input, const Options& options,
                         std::string spec_text);

  private:
    struct Buffer {
        AddedBlock block;
        std::uint64_t max_plain = 0;
    };

    void initialize() override;
    void observe(const trace::Record& r) override;
    void handle(const trace::Record& r) override;
    void finish() override {}
    void replace_record_buffer(trace::Role role, const InputBlock& block) override;
    void release_record_buffers() override;
    std::string dtls_refusal() const override;

    struct Context;
    Buffer allocate(std::uint32_t site);
    void grow_for(Context& c, Buffer& buffer, std::uint64_t length);
    void purge_certificates(Context& c);

    Options options_;
    std::string certificate_state_;
    std::uint32_t site_shared_ = 0;
    std::uint32_t site_in_ = 0;
    std::uint32_t site_out_ = 0;
    std::uint32_t site_free_certs_ = 0;
    std::uint32_t site_ssl_free_ = 0;

    // What axTLS keeps per SSL object: one per connection of the recording.
    struct Context {
        Buffer shared; // shared=on
        Buffer in;     // shared=off
        Buffer out;
        bool first_record = true;
        bool handshake_over = false; // can_free_certificates
        bool certificates_freed = false;
        std::set<std::uint64_t> received_chain; // input seqs, alive as read
    };
    Context& context() { return contexts_[connection()]; }
    std::map<std::uint32_t, Context> contexts_;
};

} // namespace tlsheap::replay
