// esp-dynamic: the allocation stream of a TLS client under ESP-IDF's dynamic
// record buffers (CONFIG_MBEDTLS_DYNAMIC_BUFFER, ESP-IDF v5.5, mbedTLS 3.6).
//
// Rules read from espressif/esp-idf components/mbedtls/port/dynamic/:
// esp_ssl_tls.c and esp_ssl_cli.c as on the v5.5 release branch;
// esp_mbedtls_dynamic_impl.c as in v5.x (the 2020-2022 file: free the old
// buffer, then allocate; RX sized by the peeked record alone), with
// esp_mbedtls_dynamic_set_rx_buf_static as on master. (Master since changed
// RX sizing and allocation order; that is not modelled.)
//  - esp_ssl_tls.c: __wrap_mbedtls_ssl_setup never allocates the static
//    in/out buffers; it allocates the idle TX buffer and no RX buffer.
//    __wrap_mbedtls_ssl_write/_send_alert_message/_close_notify add a TX
//    buffer of tx_buffer_len(0) = MBEDTLS_SSL_OUT_BUFFER_LEN and put the idle
//    one back once nothing is left to send; __wrap_mbedtls_ssl_read adds an RX
//    buffer for the record whose header it peeks and frees it (to the RX
//    cache) once the record is consumed; __wrap_mbedtls_ssl_free frees both.
//  - esp_ssl_cli.c: manage_resource() around every client handshake step:
//    before it, add a TX buffer (tx_buffer_len(MBEDTLS_SSL_OUT_BUFFER_LEN),
//    the overhead counted twice; for CLIENT_CERTIFICATE the own chain's size
//    if larger) or an RX buffer, by state; after it, put the idle TX buffer
//    back if nothing is left to send, free the RX buffer by state, free the
//    CA chain after SERVER_CERTIFICATE (CONFIG_MBEDTLS_DYNAMIC_FREE_CA_CERT)
//    and the DHM parameters, own keys and key_cert list after
//    CERTIFICATE_VERIFY (CONFIG_MBEDTLS_DYNAMIC_FREE_CONFIG_DATA -- the own
//    certificate itself stays: esp_mbedtls_free_keycert_cert is not called
//    on the client).
//  - esp_mbedtls_dynamic_impl.c/.h: every buffer has an 8-byte header (state,
//    length); the idle TX buffer holds 13 + 24 bytes (header + counter and
//    IV cache), the RX cache 16; an RX buffer is 8 + record length + O;
//    a CACHED buffer is never replaced; the RX buffer is kept while more
//    handshake messages remain in its record (in_hslen < in_msglen) or when
//    nothing was read into it (in_msgtype == 0);
//    esp_mbedtls_dynamic_set_rx_buf_static() (option static_rx, called by
//    esp-tls after the handshake) swaps in a static RX buffer of
//    tx_buffer_len(MBEDTLS_SSL_IN_CONTENT_LEN).
// O is computed from the trace's config (see esp_buffer_overhead.h).
//
// What a recording cannot show is inferred: the record a step peeks is the
// first incoming TlsRecord of that step (or of the next step that receives
// one); output left unsent at a step's end (out_left != 0) is output the next
// step flushes before anything else (mbedTLS 3.6 ssl_tls.c flushes at the
// start of every step; in TLS 1.2 only the ClientHello is left unsent, in TLS
// 1.3 every handshake message); which messages a record holds comes from its
// handshake types when plaintext, and an encrypted record holds one message,
// kept for the next step when that step reads and receives no record.
//
// Server-side recordings are refused: esp_ssl_srv.c differs between v5.x
// releases (the state it frees by is state - 1, TLS 1.3 wrapped or not) and
// the v5.5 copy could not be checked. DTLS is refused: ESP-IDF does not
// support dynamic buffers with DTLS.
#pragma once

#include "esp_buffer_overhead.h"
#include "rewritten_stream.h"

#include <deque>
#include <map>
#include <optional>

namespace tlsheap::replay {

class EspDynamicTransform final : public RewrittenStream {
  public:
    struct Options {
        bool free_ca_cert = true;     // CONFIG_MBEDTLS_DYNAMIC_FREE_CA_CERT
        bool free_config_data = true; // CONFIG_MBEDTLS_DYNAMIC_FREE_CONFIG_DATA
        bool static_rx = false;       // esp_mbedtls_dynamic_set_rx_buf_static after the handshake
    };

    EspDynamicTransform(std::unique_ptr<RecordSource> input, const Options& options,
                        std::string spec_text);

    // Sizes, for tests and reports.
    static constexpr std::uint64_t kHeader = 8;                 // SSL_BUF_HEAD_OFFSET_SIZE
    static constexpr std::uint64_t kIdleTx = kHeader + 13 + 24; // 45
    static constexpr std::uint64_t kRxCache = kHeader + 16;     // 24

  private:
    // One handshake step: its StepBegin, everything up to the next StepBegin
    // or Phase, and what it does to the buffers before and after.
    struct Step {
        std::vector<trace::Record> records;
        std::string state;
        std::string state_after;
        std::int64_t ret = 0;
        std::optional<std::size_t> step_end; // index of its StepEnd
        std::vector<std::size_t> incoming;   // indices of incoming TlsRecords
        bool leading_out = false;            // sends before it allocates or receives
        std::vector<AddedEvent> before;      // after StepBegin
        std::vector<AddedEvent> after;       // before StepEnd
        // Where its records go in the output: (first record, reserved place).
        // Another connection's records after some of them start a new place.
        std::vector<std::pair<std::size_t, std::uint64_t>> places;
        bool interrupted = false;
    };

    struct Message {
        std::uint8_t content_type = 0;
        int handshake_type = -1; // -1: not known (encrypted)
    };

    void initialize() override;
    void observe(const trace::Record& r) override;
    void handle(const trace::Record& r) override;
    void finish() override;
    void replace_record_buffer(trace::Role role, const InputBlock& block) override;
    void release_record_buffers() override;
    std::string dtls_refusal() const override;

    void stream(const trace::Record& r);
    void close_step();
    void flush_pending(const Step* next);
    void analyze(Step& step) const;
    void before_step(Step& step);
    void after_step(Step& step, const Step* next);
    void account_consumption(const Step& step, const Step* next);
    void flush(const Step& step);

    // The wrappers' buffer operations.
    void add_tx(std::uint64_t content_len, std::uint32_t site);
    void put_back_idle_tx();
    void add_rx(std::uint64_t record_len);
    void free_rx();
    void load_record(const trace::Record& r);
    void free_ca_chain();
    void free_config_data();
    std::uint64_t tx_buffer_len(std::uint64_t len) const;
    std::uint64_t own_certificates_len() const;
    void refuse_shared_config_frees();

    Options options_;
    EspBufferSizes sizes_;
    bool compat_mode_ = false;

    std::uint32_t site_tx_ = 0;
    std::uint32_t site_tx_idle_ = 0;
    std::uint32_t site_tx_write_ = 0;
    std::uint32_t site_rx_ = 0;
    std::uint32_t site_rx_cache_ = 0;
    std::uint32_t site_rx_static_ = 0;
    std::uint32_t site_free_ca_ = 0;
    std::uint32_t site_free_config_ = 0;
    std::uint32_t site_ssl_free_ = 0;

    bool ca_freed_ = false;
    bool config_freed_ = false;

    // What ESP-IDF keeps per mbedtls_ssl_context, and the step held back
    // for lookahead: one of each per connection of the recording.
    enum class Tx { None, Idle, Full };
    enum class Rx { None, Cache, Full, Static };
    struct Context {
        Tx tx_state = Tx::None;
        AddedBlock tx;
        Rx rx_state = Rx::None;
        AddedBlock rx;
        bool rx_peeked = false;          // add_rx ran but the record arrives in a later step
        bool rx_record_read = false;     // in_msgtype != 0
        std::deque<Message> rx_messages; // handshake messages of its record not yet consumed
        bool app_rx_pending = false;     // an application record waits to be consumed
        bool tls13 = false;
        bool handshake_ok = false;
        bool in_step = false;
        Step step;
        std::optional<Step> pending;
    };
    Context& context() { return contexts_[connection()]; }
    std::map<std::uint32_t, Context> contexts_;
    Context* c_ = nullptr; // the connection whose records are being handled
};

} // namespace tlsheap::replay
