#include "esp_dynamic_transform.h"

#include "tlsheap/tls_wire.h"
#include "tlsheap/trace_meta.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

namespace tlsheap::replay {

namespace {

using trace::Record;
using trace::Tag;

bool one_of(std::string_view s, std::initializer_list<std::string_view> set) {
    return std::find(set.begin(), set.end(), s) != set.end();
}

// States only TLS 1.3 has (mbedTLS 3.6 include/mbedtls/ssl.h).
bool tls13_state(std::string_view s) {
    return one_of(s, {"ENCRYPTED_EXTENSIONS", "CLIENT_CERTIFICATE_VERIFY",
                      "CLIENT_CCS_AFTER_SERVER_FINISHED", "CLIENT_CCS_BEFORE_2ND_CLIENT_HELLO",
                      "CLIENT_CCS_AFTER_CLIENT_HELLO", "END_OF_EARLY_DATA", "HELLO_RETRY_REQUEST",
                      "SERVER_CCS_AFTER_SERVER_HELLO", "SERVER_CCS_AFTER_HELLO_RETRY_REQUEST",
                      "TLS1_3_NEW_SESSION_TICKET", "TLS1_3_NEW_SESSION_TICKET_FLUSH"});
}

// esp_ssl_cli.c manage_resource(add): the states that add a TX buffer.
enum class TxRule { None, OutBufferLen, OwnCertificates };

TxRule tx_rule(std::string_view s) {
    if (s == "CLIENT_CERTIFICATE")
        return TxRule::OwnCertificates;
    if (one_of(s, {"CLIENT_HELLO", "CLIENT_KEY_EXCHANGE", "CERTIFICATE_VERIFY",
                   "CLIENT_CERTIFICATE_VERIFY", "CLIENT_CHANGE_CIPHER_SPEC", "CLIENT_FINISHED",
                   "CLIENT_CCS_BEFORE_2ND_CLIENT_HELLO", "CLIENT_CCS_AFTER_SERVER_FINISHED",
                   "CLIENT_CCS_AFTER_CLIENT_HELLO", "END_OF_EARLY_DATA"}))
        return TxRule::OutBufferLen;
    return TxRule::None;
}

// esp_ssl_cli.c manage_resource(!add): the states that free the RX buffer.
bool frees_rx(std::string_view s) {
    return one_of(s, {"SERVER_HELLO", "ENCRYPTED_EXTENSIONS", "SERVER_CERTIFICATE",
                      "SERVER_KEY_EXCHANGE", "CERTIFICATE_REQUEST", "SERVER_HELLO_DONE",
                      "NEW_SESSION_TICKET", "SERVER_CHANGE_CIPHER_SPEC", "SERVER_FINISHED",
                      "TLS1_3_NEW_SESSION_TICKET"});
}

// ... and add one; CERTIFICATE_VERIFY too in TLS 1.3 with the compatibility
// mode (CONFIG_MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE).
bool adds_rx(std::string_view s, bool tls13, bool compat_mode) {
    return frees_rx(s) || (s == "CERTIFICATE_VERIFY" && tls13 && compat_mode);
}

// Stands for a ChangeCipherSpec record among handshake message types.
constexpr int kChangeCipherSpecMessage = 256;

// The message a client step consumes (RFC 5246/8446 handshake types); any
// other message it reads stays for the next step (keep_current_message).
std::vector<int> expected_messages(std::string_view s) {
    if (s == "SERVER_HELLO")
        return {tls::kServerHello};
    if (s == "ENCRYPTED_EXTENSIONS")
        return {tls::kEncryptedExtensions};
    if (s == "SERVER_CERTIFICATE")
        return {tls::kCertificate};
    if (s == "SERVER_KEY_EXCHANGE")
        return {tls::kServerKeyExchange};
    if (s == "CERTIFICATE_REQUEST")
        return {tls::kCertificateRequest};
    if (s == "SERVER_HELLO_DONE")
        return {tls::kServerHelloDone};
    if (s == "CERTIFICATE_VERIFY")
        return {tls::kCertificateVerify};
    if (s == "SERVER_FINISHED")
        return {tls::kFinished};
    if (s == "NEW_SESSION_TICKET" || s == "TLS1_3_NEW_SESSION_TICKET")
        return {tls::kNewSessionTicket};
    if (s == "SERVER_CHANGE_CIPHER_SPEC") // also reads a NewSessionTicket (ssl_tls12_client.c)
        return {kChangeCipherSpecMessage, tls::kNewSessionTicket};
    return {};
}

bool contains(const std::vector<int>& v, int x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

} // namespace

EspDynamicTransform::EspDynamicTransform(std::unique_ptr<RecordSource> input,
                                         const Options& options, std::string spec_text)
    : RewrittenStream(std::move(input), "esp-dynamic", std::move(spec_text)), options_(options) {}

std::string EspDynamicTransform::dtls_refusal() const {
    return "and ESP-IDF's dynamic buffers do not support DTLS (the scheme models TLS over TCP)";
}

void EspDynamicTransform::initialize() {
    if (trace::meta::recorder_side(meta(trace::meta::kRecorderSide)) == tls::Side::Server)
        refuse("it is a server-side recording (recorder.side=server); only the client path "
               "(esp_ssl_cli.c) is modelled, the v5.5 server path (esp_ssl_srv.c) could not be "
               "checked against its source");
    sizes_ = esp_buffer_sizes(config(), meta_map());
    compat_mode_ = config().count("MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE") != 0;
    site_tx_ = call_site("TX buffer");
    site_tx_idle_ = call_site("TX buffer (idle)");
    site_tx_write_ = call_site("TX buffer (write)");
    site_rx_ = call_site("RX buffer");
    site_rx_cache_ = call_site("RX cache");
    site_rx_static_ = call_site("RX buffer (static)");
    site_free_ca_ = call_site("free CA chain (FREE_CA_CERT)");
    site_free_config_ = call_site("free config data (FREE_CONFIG_DATA)");
    site_ssl_free_ = call_site("mbedtls_ssl_free");
}

// --- the stream ---------------------------------------------------------

void EspDynamicTransform::handle(const Record& r) {
    c_ = &context();
    if (r.tag == Tag::Connection) {
        // Another connection's records follow: a step still open goes on
        // at a later place in the output.
        for (auto& [id, other] : contexts_)
            other.step.interrupted = other.in_step;
        if (connection() > trace::kFirstConnection)
            refuse_shared_config_frees();
        emit_input(r);
        return;
    }
    if (r.tag == Tag::StepBegin) {
        if (c_->in_step)
            close_step();
        c_->step = Step{};
        c_->step.places.emplace_back(0, reserve_output());
        c_->step.records.push_back(r);
        c_->in_step = true;
        return;
    }
    if (c_->in_step) {
        if (r.tag != Tag::Phase) {
            if (c_->step.interrupted) {
                c_->step.interrupted = false;
                c_->step.places.emplace_back(c_->step.records.size(), reserve_output());
            }
            c_->step.records.push_back(r);
            return;
        }
        close_step();
    }
    flush_pending(nullptr);
    stream(r);
}

// ESP-IDF frees the CA chain and the own key data of the mbedtls_ssl_config
// (esp_mbedtls_free_cacert sets conf->ca_chain = NULL) after the first
// handshake; the connections of a lifecycle recording share one config, so
// on the device every later handshake would find them gone.
void EspDynamicTransform::refuse_shared_config_frees() {
    if (options_.free_ca_cert || options_.free_config_data)
        refuse("the recording has several connections sharing one mbedtls_ssl_config, and "
               "free_ca_cert/free_config_data free its CA chain and keys after the first "
               "handshake, so a later connection could not verify or authenticate on the "
               "device; use esp-dynamic:free_ca_cert=off,free_config_data=off");
}

void EspDynamicTransform::observe(const Record& r) {
    // Read ahead of the stream: the Outcome sits in the last step's tail.
    if (r.tag == Tag::Outcome && r.outcome == trace::OutcomeKind::Handshake && r.ret == 0)
        context().handshake_ok = true;
}

void EspDynamicTransform::finish() {
    for (auto& [id, c] : contexts_) {
        c_ = &c;
        if (c_->in_step)
            close_step();
        flush_pending(nullptr);
    }
}

// Outside handshake steps: the API wrappers of esp_ssl_tls.c.
void EspDynamicTransform::stream(const Record& r) {
    const bool boundary = r.tag == Tag::TlsRecord || r.tag == Tag::Phase || r.tag == Tag::Outcome ||
                          r.tag == Tag::Activity;
    if (c_->app_rx_pending && boundary) {
        // __wrap_mbedtls_ssl_read: the record is consumed, back to the RX cache.
        c_->app_rx_pending = false;
        if (c_->rx_state == Rx::Full) {
            free_block(c_->rx, site_rx_);
            c_->rx = add_block(kRxCache, site_rx_cache_);
            c_->rx_state = Rx::Cache;
        }
    }
    switch (r.tag) {
    case Tag::TlsRecord:
        if (r.direction == trace::Direction::Out) {
            // mbedtls_ssl_write, _send_alert_message, _close_notify: one record each.
            add_tx(0, site_tx_write_);
            emit_input(r);
            put_back_idle_tx();
            return;
        }
        if (c_->rx_state != Rx::Static) {
            add_rx(r.length);
            load_record(r);
            c_->app_rx_pending = true;
        }
        emit_input(r);
        return;
    case Tag::Role:
        if (c_->tx_state == Tx::None) {
            // __wrap_mbedtls_ssl_setup: the idle TX buffer, no RX buffer.
            c_->tx = add_block(kIdleTx, site_tx_idle_);
            c_->tx_state = Tx::Idle;
        }
        break;
    case Tag::Phase:
        if (r.phase == trace::Phase::Application && options_.static_rx && c_->handshake_ok &&
            c_->rx_state != Rx::None && c_->rx_state != Rx::Static) {
            // esp-tls after a successful handshake: esp_mbedtls_dynamic_set_rx_buf_static.
            free_block(c_->rx, site_rx_static_);
            c_->rx = add_block(kHeader + tx_buffer_len(sizes_.in_content_len), site_rx_static_);
            c_->rx_state = Rx::Static;
            c_->rx_messages.clear();
        }
        break;
    default:
        break;
    }
    emit_input(r);
}

void EspDynamicTransform::replace_record_buffer(trace::Role, const InputBlock&) {
    // The static buffers simply are not there; setup's idle TX buffer is
    // allocated where the Role records say setup ended.
}

void EspDynamicTransform::release_record_buffers() {
    c_ = &context();
    // __wrap_mbedtls_ssl_free: out_buf, then in_buf, then the real ssl_free.
    free_block(c_->tx, site_ssl_free_);
    c_->tx_state = Tx::None;
    free_block(c_->rx, site_ssl_free_);
    c_->rx_state = Rx::None;
    c_->app_rx_pending = false;
}

// --- handshake steps --------------------------------------------------------

// A step is complete when the next one (or a Phase) begins. Its end is
// decided with the next step in view, and only then is it passed on.
void EspDynamicTransform::close_step() {
    Step current = std::move(c_->step);
    c_->step = Step{};
    c_->in_step = false;
    analyze(current);
    flush_pending(&current);
    before_step(current);
    c_->pending = std::move(current);
}

void EspDynamicTransform::flush_pending(const Step* next) {
    if (!c_->pending)
        return;
    after_step(*c_->pending, next);
    flush(*c_->pending);
    c_->pending.reset();
}

void EspDynamicTransform::analyze(Step& step) const {
    step.state = state_name(step.records.front().state);
    bool leading = true;
    for (std::size_t i = 1; i < step.records.size(); ++i) {
        const Record& r = step.records[i];
        if (r.tag == Tag::StepEnd && !step.step_end) {
            step.step_end = i;
            step.ret = r.ret;
            step.state_after = state_name(r.state);
            leading = false;
        } else if (r.tag == Tag::Alloc || r.tag == Tag::Free) {
            leading = false;
        } else if (r.tag == Tag::TlsRecord) {
            if (r.direction == trace::Direction::In) {
                if (!step.step_end)
                    step.incoming.push_back(i);
                leading = false;
            } else if (leading) {
                step.leading_out = true;
            }
        }
    }
}

// manage_resource(ssl, true, ...), then what the step reads.
void EspDynamicTransform::before_step(Step& step) {
    if (tls13_state(step.state))
        c_->tls13 = true;
    begin_capture(step.before);
    const Record* first_in = step.incoming.empty() ? nullptr : &step.records[step.incoming[0]];
    if (c_->rx_peeked && first_in != nullptr) {
        // An earlier step peeked this record's header and allocated for it.
        c_->rx_peeked = false;
        add_rx(first_in->length);
    }
    switch (tx_rule(step.state)) {
    case TxRule::OutBufferLen:
        add_tx(sizes_.out_buffer_len, site_tx_);
        break;
    case TxRule::OwnCertificates:
        add_tx(std::max(own_certificates_len(), sizes_.out_buffer_len), site_tx_);
        break;
    case TxRule::None:
        break;
    }
    if (adds_rx(step.state, c_->tls13, compat_mode_) && c_->rx_state != Rx::Full &&
        c_->rx_state != Rx::Static && !c_->rx_peeked) {
        if (first_in != nullptr)
            add_rx(first_in->length);
        else
            c_->rx_peeked = true; // the record arrives in a later step
    }
    if (first_in != nullptr && c_->rx_state != Rx::Full && c_->rx_state != Rx::Static) {
        // A read no wrapper prepared for (on the device it would overrun the
        // cache); sized like add_rx so that the stream stays valid.
        add_rx(first_in->length);
    }
    for (const std::size_t i : step.incoming)
        load_record(step.records[i]);
    end_capture();
}

// manage_resource(ssl, false, prev_state).
void EspDynamicTransform::after_step(Step& step, const Step* next) {
    if (!step.step_end || step.ret != 0)
        return; // CHECK_OK returned before manage_resource(!add)
    if (step.state_after == "HANDSHAKE_OVER")
        return; // mbedtls_ssl_is_handshake_over(): nothing to manage
    account_consumption(step, next);
    begin_capture(step.after);
    // out_left != 0: output written but not sent, flushed by the next step first.
    const bool tls13 = c_->tls13 || (next != nullptr && tls13_state(next->state));
    const bool unsent =
        next != nullptr && next->leading_out && (tls13 || tx_rule(next->state) == TxRule::None);
    if (!unsent)
        put_back_idle_tx();
    if (frees_rx(step.state))
        free_rx();
    if (step.state == "SERVER_CERTIFICATE" && options_.free_ca_cert)
        free_ca_chain();
    if (step.state == "CERTIFICATE_VERIFY" && options_.free_config_data)
        free_config_data();
    if (step.state == "END_OF_EARLY_DATA")
        add_tx(sizes_.out_buffer_len, site_tx_); // its case adds a buffer on both calls
    end_capture();
}

// Whether the step consumed the message at the front of the RX buffer.
void EspDynamicTransform::account_consumption(const Step& step, const Step* next) {
    const std::vector<int> expected = expected_messages(step.state);
    const bool reads =
        !expected.empty() || adds_rx(step.state, c_->tls13, compat_mode_) || !step.incoming.empty();
    if (!reads || c_->rx_messages.empty())
        return;
    const Message& m = c_->rx_messages.front();
    bool consumed;
    if (m.handshake_type >= 0) {
        consumed = expected.empty() || contains(expected, m.handshake_type);
    } else if (m.content_type == tls::kChangeCipherSpec) {
        consumed = expected.empty() || contains(expected, kChangeCipherSpecMessage);
    } else {
        // Encrypted: its type is unknown. It stays when the next step reads
        // without receiving a record of its own.
        const bool next_reads_kept =
            next != nullptr &&
            adds_rx(next->state, c_->tls13 || tls13_state(next->state), compat_mode_) &&
            next->incoming.empty();
        consumed = !next_reads_kept;
    }
    if (consumed)
        c_->rx_messages.pop_front();
}

// Passes the step on, each record to the place reserved for it.
void EspDynamicTransform::flush(const Step& step) {
    std::size_t place = 0;
    const auto fill = [&](std::size_t record) {
        while (place + 1 < step.places.size() && step.places[place + 1].first <= record)
            ++place;
        begin_fill(step.places[place].second);
    };
    fill(0);
    emit_input(step.records.front());
    emit_captured(step.before);
    const std::size_t end = step.step_end.value_or(step.records.size());
    for (std::size_t i = 1; i < end; ++i) {
        fill(i);
        emit_input(step.records[i]);
    }
    emit_captured(step.after);
    for (std::size_t i = end; i < step.records.size(); ++i) {
        fill(i);
        emit_input(step.records[i]);
    }
    end_fill();
    for (const auto& [first, id] : step.places)
        release_place(id);
}

// --- the buffers --------------------------------------------------------------

// tx_buffer_len() of esp_mbedtls_dynamic_impl.c: 0 means the whole
// MBEDTLS_SSL_OUT_BUFFER_LEN, anything else gets the overhead O added.
std::uint64_t EspDynamicTransform::tx_buffer_len(std::uint64_t len) const {
    return len == 0 ? sizes_.out_buffer_len : len + sizes_.overhead.total();
}

// esp_mbedtls_add_tx_buffer: a CACHED (full) buffer stays; the idle one is
// freed and a full one allocated.
void EspDynamicTransform::add_tx(std::uint64_t content_len, std::uint32_t site) {
    if (c_->tx_state == Tx::Full)
        return;
    free_block(c_->tx, site);
    c_->tx = add_block(kHeader + tx_buffer_len(content_len), site);
    c_->tx_state = Tx::Full;
}

// esp_mbedtls_free_tx_buffer: a full buffer is freed, then the idle one allocated.
void EspDynamicTransform::put_back_idle_tx() {
    if (c_->tx_state != Tx::Full)
        return;
    free_block(c_->tx, site_tx_);
    c_->tx = add_block(kIdleTx, site_tx_idle_);
    c_->tx_state = Tx::Idle;
}

// esp_mbedtls_add_rx_buffer: with no full buffer, the header is read into
// stack memory, the cache freed and 8 + tx_buffer_len(record length) allocated.
void EspDynamicTransform::add_rx(std::uint64_t record_len) {
    if (c_->rx_state == Rx::Full || c_->rx_state == Rx::Static)
        return;
    free_block(c_->rx, site_rx_);
    c_->rx = add_block(kHeader + tx_buffer_len(record_len), site_rx_);
    c_->rx_state = Rx::Full;
    c_->rx_record_read = false;
    c_->rx_messages.clear();
}

// The record is read into the RX buffer: the messages it brings replace
// whatever the buffer held (mbedTLS reads a record only once the last one is done).
void EspDynamicTransform::load_record(const Record& r) {
    c_->rx_messages.clear();
    switch (r.content_type) {
    case tls::kHandshake:
        if (r.flags & trace::kRecordPlaintext) {
            for (const std::uint8_t t : r.hs_types)
                c_->rx_messages.push_back({tls::kHandshake, t});
        } else {
            c_->rx_messages.push_back({tls::kHandshake, -1});
        }
        break;
    case tls::kChangeCipherSpec:
        if (!c_->tls13) // TLS 1.3's compatibility CCS is dropped by the record layer
            c_->rx_messages.push_back({tls::kChangeCipherSpec, -1});
        break;
    case tls::kApplicationData:
        c_->rx_messages.push_back({tls::kApplicationData, -1});
        break;
    default: // alerts: handled by the record layer
        break;
    }
    c_->rx_record_read = true;
}

// esp_mbedtls_free_rx_buffer: only a full buffer whose record was read and
// holds no further message goes; then the 24-byte cache is allocated.
void EspDynamicTransform::free_rx() {
    if (c_->rx_state != Rx::Full || !c_->rx_record_read || !c_->rx_messages.empty())
        return;
    free_block(c_->rx, site_rx_);
    c_->rx = add_block(kRxCache, site_rx_cache_);
    c_->rx_state = Rx::Cache;
}

// esp_mbedtls_free_cacert: mbedtls_x509_crt_free(conf->ca_chain), once.
void EspDynamicTransform::free_ca_chain() {
    if (ca_freed_)
        return;
    ca_freed_ = true;
    std::vector<std::uint64_t> chain;
    for (const InputBlock* block : live())
        if (activity_of(*block) == "ca_chain_parse")
            chain.push_back(block->seq);
    for (const std::uint64_t seq : chain)
        release_input_block(seq, site_free_ca_);
}

// esp_mbedtls_free_dhm, esp_mbedtls_free_keycert_key, esp_mbedtls_free_keycert.
void EspDynamicTransform::free_config_data() {
    if (config_freed_)
        return;
    config_freed_ = true;
    std::vector<std::uint64_t> data;
    for (const InputBlock* block : live()) {
        if (activity_of(*block) == "own_key_parse") {
            data.push_back(block->seq);
        } else if (activity_of(*block) == "ssl_config" &&
                   symbols().any_function(block->stack, [](std::string_view f) {
                       return f == "ssl_append_key_cert" || f == "mbedtls_ssl_conf_own_cert" ||
                              f.starts_with("mbedtls_ssl_conf_dh_param");
                   })) {
            data.push_back(block->seq);
        }
    }
    for (const std::uint64_t seq : data)
        release_input_block(seq, site_free_config_);
}

// The CLIENT_CERTIFICATE case: 3 + the DER length of every own certificate
// (the copy x509_crt_parse_der_core makes) + 3 per certificate.
std::uint64_t EspDynamicTransform::own_certificates_len() const {
    std::uint64_t len = 3;
    if (config_freed_)
        return len; // conf->key_cert is gone
    for (const InputBlock* block : live())
        if (activity_of(*block) == "own_cert_parse" &&
            symbols().call_site(block->stack).function == "x509_crt_parse_der_core")
            len += block->size + 3;
    return len;
}

} // namespace tlsheap::replay
