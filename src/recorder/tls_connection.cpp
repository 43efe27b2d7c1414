#include "tls_connection.h"

#include "mbedtls_compat.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mbedtls/net_sockets.h>
#include <mbedtls/platform.h>
#include <mbedtls/ssl.h>
#include <string>
#include <vector>

#if defined(MBEDTLS_CTR_DRBG_C)
#include <mbedtls/ctr_drbg.h>
#elif defined(MBEDTLS_HMAC_DRBG_C)
#include <mbedtls/hmac_drbg.h>
#include <mbedtls/md.h>
#endif
#if defined(MBEDTLS_ENTROPY_C)
#include <mbedtls/entropy.h>
#endif
#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
#include <mbedtls/memory_buffer_alloc.h>
#endif
#if defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif
#if !TLSHEAP_MBEDTLS_3 && defined(MBEDTLS_ECP_C)
#include <mbedtls/ecp.h>
#endif

#include "credentials.h"
#include "deterministic_entropy.h"
#include "recording.h"
#include "socket_transport.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/trace_meta.h"
#include "transport_tap.h"
#include "variant_info.h"

extern "C" {
extern const unsigned long tlsheap_ssl_in_content_len;
}

namespace tlsheap::recorder {

namespace {

using trace::Phase;

// The maximum fragment length a client asks for (0: none), per --max-fragment.
[[maybe_unused]] unsigned long chosen_max_fragment(long option) {
    if (option < 0) {
        return 0;
    }
    if (option > 0) {
        return static_cast<unsigned long>(option);
    }
    return static_cast<unsigned long>(tls::max_fragment_length_for(tlsheap_ssl_in_content_len));
}

std::string state_name(int state) {
    for (unsigned i = 0; i < kStateNameCount; ++i) {
        if (kStateNames[i].id == state) {
            return kStateNames[i].name;
        }
    }
    return "state " + std::to_string(state);
}

// Marks one SETUP (or other) activity in the trace for the lifetime of the scope.
class ActivityScope {
  public:
    ActivityScope(Recording& r, const char* name) : r_(r), name_(name) { r_.activity(true, name_); }
    ~ActivityScope() { r_.activity(false, name_); }
    ActivityScope(const ActivityScope&) = delete;
    ActivityScope& operator=(const ActivityScope&) = delete;

  private:
    Recording& r_;
    const char* name_;
};

// The application's random generator, as a real application sets one up:
// entropy context + CTR_DRBG (or HMAC_DRBG). Its entropy is deterministic
// (deterministic_entropy.cpp), so its output is too.
class RandomSource {
  public:
    RandomSource() {
#if defined(MBEDTLS_ENTROPY_C)
        mbedtls_entropy_init(&entropy_);
#endif
#if defined(MBEDTLS_CTR_DRBG_C)
        mbedtls_ctr_drbg_init(&drbg_);
#elif defined(MBEDTLS_HMAC_DRBG_C)
        mbedtls_hmac_drbg_init(&drbg_);
#endif
    }
    ~RandomSource() {
        release();
    }
    RandomSource(const RandomSource&) = delete;
    RandomSource& operator=(const RandomSource&) = delete;

    int seed() {
        static const unsigned char personalization[] = "tlsheap";
#if defined(MBEDTLS_ENTROPY_C)
        int (*entropy_fn)(void*, unsigned char*, size_t) = mbedtls_entropy_func;
        void* entropy_ctx = &entropy_;
#else
        int (*entropy_fn)(void*, unsigned char*, size_t) = &RandomSource::fallback_entropy;
        void* entropy_ctx = nullptr;
#endif
#if defined(MBEDTLS_CTR_DRBG_C)
        return mbedtls_ctr_drbg_seed(&drbg_, entropy_fn, entropy_ctx, personalization,
                                     sizeof(personalization) - 1);
#elif defined(MBEDTLS_HMAC_DRBG_C)
        return mbedtls_hmac_drbg_seed(&drbg_, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
                                      entropy_fn, entropy_ctx, personalization,
                                      sizeof(personalization) - 1);
#else
        (void)entropy_fn;
        (void)entropy_ctx;
        return 0;
#endif
    }

    void release() {
        if (released_) {
            return;
        }
        released_ = true;
#if defined(MBEDTLS_CTR_DRBG_C)
        mbedtls_ctr_drbg_free(&drbg_);
#elif defined(MBEDTLS_HMAC_DRBG_C)
        mbedtls_hmac_drbg_free(&drbg_);
#endif
#if defined(MBEDTLS_ENTROPY_C)
        mbedtls_entropy_free(&entropy_);
#endif
    }

    static int random(void* self, unsigned char* out, size_t len) {
#if defined(MBEDTLS_CTR_DRBG_C)
        return mbedtls_ctr_drbg_random(&static_cast<RandomSource*>(self)->drbg_, out, len);
#elif defined(MBEDTLS_HMAC_DRBG_C)
        return mbedtls_hmac_drbg_random(&static_cast<RandomSource*>(self)->drbg_, out, len);
#else
        (void)self;
        deterministic_bytes(out, len);
        return 0;
#endif
    }

  private:
    [[maybe_unused]] static int fallback_entropy(void*, unsigned char* out, size_t len) {
        deterministic_bytes(out, len);
        return 0;
    }

    bool released_ = false;
#if defined(MBEDTLS_ENTROPY_C)
    mbedtls_entropy_context entropy_;
#endif
#if defined(MBEDTLS_CTR_DRBG_C)
    mbedtls_ctr_drbg_context drbg_;
#elif defined(MBEDTLS_HMAC_DRBG_C)
    mbedtls_hmac_drbg_context drbg_;
#endif
};

std::uint16_t iana_group(const std::string& name) {
    struct Entry {
        const char* name;
        std::uint16_t id;
    };
    // IANA TLS Supported Groups registry.
    static const Entry groups[] = {
        {"secp256r1", 23},
        {"secp384r1", 24},
        {"secp521r1", 25},
        {"x25519", 29},
        {"x448", 30},
        {"brainpoolP256r1", 26},
        {"brainpoolP384r1", 27},
        {"brainpoolP512r1", 28},
        {"ffdhe2048", 256},
        {"ffdhe3072", 257},
        {"ffdhe4096", 258},
    };
    for (const Entry& e : groups) {
        if (name == e.name) {
            return e.id;
        }
    }
    return 0;
}

bool hex_decode(const std::string& hex, std::vector<unsigned char>& out) {
    if (hex.size() % 2 != 0) {
        return false;
    }
    out.clear();
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        unsigned value = 0;
        if (std::sscanf(hex.c_str() + i, "%2x", &value) != 1) {
            return false;
        }
        out.push_back(static_cast<unsigned char>(value));
    }
    return true;
}

class Connection {
  public:
    Connection(const RecorderOptions& options, Listener* listener)
        : o_(options), listener_(listener), r_(Recording::instance()),
          tap_(&Connection::on_tls_record, this), transport_(tap_, options.timeout_ms) {
        mbedtls_ssl_init(&ssl_);
        mbedtls_ssl_config_init(&conf_);
#if defined(MBEDTLS_X509_CRT_PARSE_C)
        mbedtls_x509_crt_init(&ca_);
        mbedtls_x509_crt_init(&own_cert_);
#endif
#if defined(MBEDTLS_PK_C)
        mbedtls_pk_init(&own_key_);
#endif
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    ConnectionResult run() {
        bool ok = setup() && handshake() && application();
        if (ok) {
            close();
        }
        teardown();
        return result_;
    }

  private:
    static void on_tls_record(const ObservedRecord& record, void* self) {
        auto* c = static_cast<Connection*>(self);
        if (record.direction == trace::Direction::In && record.length > c->largest_in_record_) {
            c->largest_in_record_ = record.length;
        }
        Recording::on_tls_record(record, &c->r_);
    }

    bool is_client() const {
        return o_.mode == Mode::Client;
    }
    int state() const {
        return ssl_.MBEDTLS_PRIVATE(state);
    }

    bool usage(const std::string& error) {
        result_.status = ConnectionStatus::Usage;
        result_.error = error;
        r_.outcome(trace::OutcomeKind::Failure, -1, state(), error);
        return false;
    }

    // Names what went wrong in terms a user can act on.
    bool failed(int ret, int in_state, const char* doing) {
        std::string where = "state " + state_name(in_state);
        if (transport_.timed_out()) {
            result_.status = ConnectionStatus::Timeout;
            result_.error = "peer did not answer within " + std::to_string(o_.timeout_ms) +
                            " ms (" + doing + ", " + where + ")";
        } else {
            result_.status = ConnectionStatus::TlsFailure;
            result_.error =
                std::string(doing) + " failed in " + where + ": " + describe_mbedtls_error(ret);
            if (ret == MBEDTLS_ERR_SSL_CONN_EOF || ret == MBEDTLS_ERR_NET_CONN_RESET) {
                result_.error += " (the peer closed the connection)";
            }
            const unsigned long largest = std::max<unsigned long>(
                largest_in_record_, tap_.pending_length(trace::Direction::In));
            if (largest > tlsheap_ssl_in_content_len) {
                // The usual reason a small-buffer configuration fails.
                result_.error += "; the peer sent a " + std::to_string(largest) +
                                 "-byte record but MBEDTLS_SSL_IN_CONTENT_LEN is " +
                                 std::to_string(tlsheap_ssl_in_content_len);
            }
#if defined(MBEDTLS_X509_CRT_PARSE_C)
            const uint32_t flags = mbedtls_ssl_get_verify_result(&ssl_);
            if (flags != 0 && flags != static_cast<uint32_t>(-1)) {
                char info[512];
                mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
                for (char* p = info; *p; ++p) {
                    if (*p == '\n') {
                        *p = ';';
                    }
                }
                std::string text = info;
                while (!text.empty() && (text.back() == ';' || text.back() == ' ')) {
                    text.pop_back();
                }
                result_.error += "; certificate verification: " + text;
            }
#endif
        }
        r_.outcome(trace::OutcomeKind::Failure, ret, in_state, result_.error);
        return false;
    }

    void note_buffers() {
        unsigned char* in = ssl_.MBEDTLS_PRIVATE(in_buf);
        unsigned char* out = ssl_.MBEDTLS_PRIVATE(out_buf);
        if (in != nullptr && in != last_in_) {
            r_.role(in, trace::Role::InBuffer);
        }
        if (out != nullptr && out != last_out_) {
            r_.role(out, trace::Role::OutBuffer);
        }
        last_in_ = in;
        last_out_ = out;
#if TLSHEAP_MBEDTLS_3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
        tap_.set_tls13(ssl_.MBEDTLS_PRIVATE(tls_version) == MBEDTLS_SSL_VERSION_TLS1_3);
#endif
    }

    bool setup() {
        r_.phase(Phase::Setup);
#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
        if (o_.pool_size > 0) {
            ActivityScope a(r_, "memory_buffer_alloc_init");
            pool_.assign(o_.pool_size + 16, 0);
            // Start the pool on a 16-byte boundary, as a static array would be.
            auto base = reinterpret_cast<std::uintptr_t>(pool_.data());
            pool_base_ = reinterpret_cast<unsigned char*>((base + 15) & ~std::uintptr_t{15});
            mbedtls_memory_buffer_alloc_init(pool_base_, o_.pool_size);
            // Replay compares the model's offsets with real addresses minus this.
            r_.meta(trace::meta::kPoolBase,
                    std::to_string(reinterpret_cast<std::uintptr_t>(pool_base_)));
        }
#else
        if (o_.pool_size > 0) {
            return usage("--pool-size needs a variant built with MBEDTLS_MEMORY_BUFFER_ALLOC_C");
        }
#endif
        if (o_.pool_size == 0) {
            // The host heap, whatever MBEDTLS_PLATFORM_STD_CALLOC said (configs
            // with MBEDTLS_PLATFORM_NO_STD_FUNCTIONS leave it unset).
            mbedtls_platform_set_calloc_free(std::calloc, std::free);
        }
#if defined(MBEDTLS_PSA_CRYPTO_C) && (TLSHEAP_MBEDTLS_3 || defined(MBEDTLS_USE_PSA_CRYPTO))
        {
            // 3.x needs PSA for TLS 1.3 and for much of TLS 1.2; applications call this first.
            ActivityScope a(r_, "psa_crypto_init");
            const psa_status_t status = psa_crypto_init();
            if (status != PSA_SUCCESS) {
                return usage("psa_crypto_init failed with status " + std::to_string(status));
            }
            psa_initialized_ = true;
        }
#endif
        {
            ActivityScope a(r_, "drbg_seed");
            const int ret = rng_.seed();
            if (ret != 0) {
                return failed(ret, state(), "seeding the DRBG");
            }
        }
        std::string error;
#if defined(MBEDTLS_X509_CRT_PARSE_C)
        if (!o_.ca_files.empty()) {
            ActivityScope a(r_, "ca_chain_parse");
            for (const std::string& file : o_.ca_files) {
                if (parse_certificates(&ca_, file, error) != 0) {
                    return usage(error);
                }
            }
        }
        if (!o_.cert_files.empty()) {
            ActivityScope a(r_, "own_cert_parse");
            for (const std::string& file : o_.cert_files) {
                if (parse_certificates(&own_cert_, file, error) != 0) {
                    return usage(error);
                }
            }
        }
#else
        if (!o_.ca_files.empty() || !o_.cert_files.empty()) {
            return usage("certificates need MBEDTLS_X509_CRT_PARSE_C, which this variant lacks");
        }
#endif
        if (!o_.key_file.empty()) {
#if defined(MBEDTLS_PK_PARSE_C)
            ActivityScope a(r_, "own_key_parse");
            if (parse_private_key(&own_key_, o_.key_file, &RandomSource::random, &rng_, error) !=
                0) {
                return usage(error);
            }
#else
            return usage("private keys need MBEDTLS_PK_PARSE_C, which this variant lacks");
#endif
        }
        {
            ActivityScope a(r_, "ssl_config");
            if (!configure()) {
                return false;
            }
        }
        {
            ActivityScope a(r_, "ssl_setup");
            const int ret = mbedtls_ssl_setup(&ssl_, &conf_);
            if (ret != 0) {
                return failed(ret, state(), "mbedtls_ssl_setup");
            }
            note_buffers();
#if defined(MBEDTLS_X509_CRT_PARSE_C)
            if (is_client() && !o_.server_name.empty()) {
                const int r = mbedtls_ssl_set_hostname(&ssl_, o_.server_name.c_str());
                if (r != 0) {
                    return failed(r, state(), "mbedtls_ssl_set_hostname");
                }
            }
#endif
        }
        // The transport is not part of the heap profile: sockets live outside mbedTLS.
        if (is_client()) {
            if (!transport_.connect(o_.connect_host, o_.connect_port, error)) {
                result_.status = transport_.timed_out() ? ConnectionStatus::Timeout
                                                        : ConnectionStatus::Transport;
                result_.error = error;
                r_.outcome(trace::OutcomeKind::Failure, -1, state(), error);
                return false;
            }
        } else {
            const int fd = listener_->accept(o_.timeout_ms, error);
            if (fd < 0) {
                result_.status = ConnectionStatus::Timeout;
                result_.error = error;
                r_.outcome(trace::OutcomeKind::Failure, -1, state(), error);
                return false;
            }
            transport_.adopt(fd);
        }
        mbedtls_ssl_set_bio(&ssl_, &transport_, &SocketTransport::bio_send,
                            &SocketTransport::bio_recv, nullptr);
        return true;
    }

    bool configure() {
        int ret = mbedtls_ssl_config_defaults(
            &conf_, is_client() ? MBEDTLS_SSL_IS_CLIENT : MBEDTLS_SSL_IS_SERVER,
            MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
        if (ret != 0) {
            return failed(ret, state(), "mbedtls_ssl_config_defaults");
        }
        mbedtls_ssl_conf_rng(&conf_, &RandomSource::random, &rng_);

#if TLSHEAP_MBEDTLS_3
        const bool want13_min = o_.min_version == "tls1.3";
        [[maybe_unused]] const bool want13_max = o_.max_version == "tls1.3";
#if !defined(MBEDTLS_SSL_PROTO_TLS1_3)
        if (want13_min) {
            return usage("TLS 1.3 needs MBEDTLS_SSL_PROTO_TLS1_3, which this variant lacks");
        }
#endif
#if !defined(MBEDTLS_SSL_PROTO_TLS1_2)
        if (!want13_max) {
            return usage("TLS 1.2 needs MBEDTLS_SSL_PROTO_TLS1_2, which this variant lacks");
        }
#endif
        mbedtls_ssl_conf_min_tls_version(&conf_, want13_min ? MBEDTLS_SSL_VERSION_TLS1_3
                                                            : MBEDTLS_SSL_VERSION_TLS1_2);
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
        mbedtls_ssl_conf_max_tls_version(&conf_, want13_max ? MBEDTLS_SSL_VERSION_TLS1_3
                                                            : MBEDTLS_SSL_VERSION_TLS1_2);
#else
        mbedtls_ssl_conf_max_tls_version(&conf_, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
#else
        if (o_.min_version == "tls1.3") {
            return usage("mbedTLS " MBEDTLS_VERSION_STRING " has no TLS 1.3 support");
        }
        mbedtls_ssl_conf_min_version(&conf_, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     MBEDTLS_SSL_MINOR_VERSION_3);
        mbedtls_ssl_conf_max_version(&conf_, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     MBEDTLS_SSL_MINOR_VERSION_3);
#endif

        if (!o_.ciphersuites.empty()) {
            for (const std::string& name : o_.ciphersuites) {
                const int id = mbedtls_ssl_get_ciphersuite_id(name.c_str());
                if (id == 0) {
                    return usage("ciphersuite " + name + " is not available in this variant");
                }
                ciphersuites_.push_back(id);
            }
            ciphersuites_.push_back(0);
            mbedtls_ssl_conf_ciphersuites(&conf_, ciphersuites_.data());
        }

        if (!o_.groups.empty()) {
            for (const std::string& name : o_.groups) {
                const std::uint16_t id = iana_group(name);
                if (id == 0) {
                    return usage("unknown group '" + name + "'");
                }
#if TLSHEAP_MBEDTLS_3
                groups_.push_back(id);
#elif defined(MBEDTLS_ECP_C)
                const mbedtls_ecp_curve_info* info = mbedtls_ecp_curve_info_from_tls_id(id);
                if (info == nullptr) {
                    return usage("group " + name + " is not available in this variant");
                }
                curves_.push_back(info->grp_id);
#else
                return usage("groups need MBEDTLS_ECP_C, which this variant lacks");
#endif
            }
#if TLSHEAP_MBEDTLS_3
            groups_.push_back(0);
            mbedtls_ssl_conf_groups(&conf_, groups_.data());
#elif defined(MBEDTLS_ECP_C)
            curves_.push_back(MBEDTLS_ECP_DP_NONE);
            mbedtls_ssl_conf_curves(&conf_, curves_.data());
#endif
        }

#if defined(MBEDTLS_SSL_MAX_FRAGMENT_LENGTH)
        if (is_client()) {
            const unsigned long mfl = chosen_max_fragment(o_.max_fragment);
            const unsigned char code = mfl == 512    ? MBEDTLS_SSL_MAX_FRAG_LEN_512
                                       : mfl == 1024 ? MBEDTLS_SSL_MAX_FRAG_LEN_1024
                                       : mfl == 2048 ? MBEDTLS_SSL_MAX_FRAG_LEN_2048
                                       : mfl == 4096 ? MBEDTLS_SSL_MAX_FRAG_LEN_4096
                                                     : MBEDTLS_SSL_MAX_FRAG_LEN_NONE;
            ret = mbedtls_ssl_conf_max_frag_len(&conf_, code);
            if (ret != 0) {
                return failed(ret, state(), "mbedtls_ssl_conf_max_frag_len");
            }
            r_.meta(trace::meta::kSslMaxFragmentLengthRequested, std::to_string(mfl));
        }
#else
        if (o_.max_fragment > 0) {
            return usage(
                "--max-fragment needs MBEDTLS_SSL_MAX_FRAGMENT_LENGTH, which this variant lacks");
        }
#endif

        // Who verifies whom: the client verifies the server unless told
        // otherwise; a server asks for a client certificate when it has a CA.
        int authmode = MBEDTLS_SSL_VERIFY_NONE;
        if (o_.auth == "required") {
            authmode = MBEDTLS_SSL_VERIFY_REQUIRED;
        } else if (o_.auth == "optional") {
            authmode = MBEDTLS_SSL_VERIFY_OPTIONAL;
        }
        mbedtls_ssl_conf_authmode(&conf_, authmode);
#if defined(MBEDTLS_X509_CRT_PARSE_C)
        if (!o_.ca_files.empty()) {
            mbedtls_ssl_conf_ca_chain(&conf_, &ca_, nullptr);
        }
        if (!o_.cert_files.empty()) {
            ret = mbedtls_ssl_conf_own_cert(&conf_, &own_cert_, &own_key_);
            if (ret != 0) {
                return failed(ret, state(), "mbedtls_ssl_conf_own_cert");
            }
        }
#endif
        if (!o_.psk_hex.empty()) {
            if (!hex_decode(o_.psk_hex, psk_)) {
                return usage("--psk must be hex");
            }
#if (TLSHEAP_MBEDTLS_3 && defined(MBEDTLS_SSL_HANDSHAKE_WITH_PSK_ENABLED)) ||                      \
    (!TLSHEAP_MBEDTLS_3 && defined(MBEDTLS_KEY_EXCHANGE_SOME_PSK_ENABLED))
            ret =
                mbedtls_ssl_conf_psk(&conf_, psk_.data(), psk_.size(),
                                     reinterpret_cast<const unsigned char*>(o_.psk_identity.data()),
                                     o_.psk_identity.size());
            if (ret != 0) {
                return failed(ret, state(), "mbedtls_ssl_conf_psk");
            }
#else
            return usage("PSK needs a PSK key exchange, which this variant lacks");
#endif
        }
        return true;
    }

    bool handshake() {
        r_.phase(Phase::Handshake);
        const auto start = std::chrono::steady_clock::now();
        while (state() != MBEDTLS_SSL_HANDSHAKE_OVER) {
            const int before = state();
            r_.step_begin(before);
            const int ret = mbedtls_ssl_handshake_step(&ssl_);
            r_.step_end(state(), ret);
            note_buffers();
            if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
                continue;
            }
            if (ret != 0) {
                return failed(ret, before, "handshake");
            }
        }
        result_.handshake_ns =
            static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::steady_clock::now() - start)
                                                .count());
        std::string summary =
            std::string(mbedtls_ssl_get_version(&ssl_)) + " " + mbedtls_ssl_get_ciphersuite(&ssl_);
        r_.outcome(trace::OutcomeKind::Handshake, 0, state(), summary);
        return true;
    }

    bool write_all(const std::string& data) {
        std::size_t done = 0;
        while (done < data.size()) {
            const int ret =
                mbedtls_ssl_write(&ssl_, reinterpret_cast<const unsigned char*>(data.data()) + done,
                                  data.size() - done);
            if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
                continue;
            }
            if (ret < 0) {
                return failed(ret, state(), "writing application data");
            }
            done += static_cast<std::size_t>(ret);
        }
        sent_ += done;
        return true;
    }

    // Reads until `enough` says the message is complete. Returns false on error.
    template <typename Enough>
    bool read_until(std::string& data, Enough enough) {
        unsigned char buf[4096];
        while (!enough(data)) {
            const int ret = mbedtls_ssl_read(&ssl_, buf, sizeof(buf));
            if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
                continue;
            }
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
                continue; // a TLS 1.3 ticket arrived: part of the exchange, keep reading
            }
#endif
            if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
                peer_closed_ = true;
                result_.status = ConnectionStatus::TlsFailure;
                result_.error = "peer closed the connection after " + std::to_string(data.size()) +
                                " bytes of application data";
                r_.outcome(trace::OutcomeKind::Failure, ret, state(), result_.error);
                return false;
            }
            if (ret < 0) {
                return failed(ret, state(), "reading application data");
            }
            data.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(ret));
            received_ += static_cast<std::size_t>(ret);
        }
        return true;
    }

    bool application() {
        r_.phase(Phase::Application);
        if (is_client()) {
            const std::string request =
                "GET /" + std::to_string(o_.response_bytes) +
                " HTTP/1.0\r\nHost: " + (o_.server_name.empty() ? "localhost" : o_.server_name) +
                "\r\n\r\n";
            if (!write_all(request)) {
                return false;
            }
            const std::uint64_t want = o_.response_bytes;
            std::string response;
            if (!read_until(response, [want](const std::string& d) {
                    const auto end = d.find("\r\n\r\n");
                    return end != std::string::npos && d.size() - (end + 4) >= want;
                })) {
                return false;
            }
        } else {
            std::string request;
            if (!read_until(request, [](const std::string& d) {
                    return d.find("\r\n\r\n") != std::string::npos || d.size() > 8192;
                })) {
                return false;
            }
            unsigned long long bytes = 0;
            if (std::sscanf(request.c_str(), "GET /%llu", &bytes) != 1 || bytes > (1ull << 30)) {
                bytes = 0;
            }
            std::string response = "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n";
            for (unsigned long long i = 0; i < bytes; ++i) {
                response += static_cast<char>('a' + i % 26);
            }
            if (!write_all(response)) {
                return false;
            }
        }
        r_.outcome(trace::OutcomeKind::Application, 0, state(),
                   "sent " + std::to_string(sent_) + " received " + std::to_string(received_));
        return true;
    }

    void close() {
        r_.phase(Phase::Close);
        int ret = 0;
        do {
            ret = mbedtls_ssl_close_notify(&ssl_);
        } while (ret == MBEDTLS_ERR_SSL_WANT_WRITE);
        if (!is_client() && !peer_closed_) {
            // Wait (bounded) for the client's close_notify so it never writes to a closed socket.
            unsigned char buf[256];
            for (int i = 0; i < 64; ++i) {
                const int r = mbedtls_ssl_read(&ssl_, buf, sizeof(buf));
                if (r <= 0 && r != MBEDTLS_ERR_SSL_WANT_READ
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
                    && r != MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
#endif
                ) {
                    break;
                }
            }
        }
        r_.outcome(trace::OutcomeKind::Close, ret, state(), ret == 0 ? "close_notify sent" : "");
    }

    void teardown() {
        r_.phase(Phase::Teardown);
        mbedtls_ssl_free(&ssl_);
        mbedtls_ssl_config_free(&conf_);
#if defined(MBEDTLS_X509_CRT_PARSE_C)
        mbedtls_x509_crt_free(&own_cert_);
        mbedtls_x509_crt_free(&ca_);
#endif
#if defined(MBEDTLS_PK_C)
        mbedtls_pk_free(&own_key_);
#endif
        rng_.release();
#if defined(MBEDTLS_PSA_CRYPTO_C)
        if (psa_initialized_) {
            mbedtls_psa_crypto_free();
        }
#endif
        transport_.close();
#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
        if (pool_base_ != nullptr) {
            size_t max_used = 0, max_blocks = 0, cur_used = 0, cur_blocks = 0;
#if defined(MBEDTLS_MEMORY_DEBUG)
            mbedtls_memory_buffer_alloc_max_get(&max_used, &max_blocks);
            mbedtls_memory_buffer_alloc_cur_get(&cur_used, &cur_blocks);
#endif
            r_.pool_stats(o_.pool_size, kPoolHeaderSize, max_used, max_blocks, cur_used, cur_blocks,
                          reinterpret_cast<std::uintptr_t>(pool_base_));
            mbedtls_memory_buffer_alloc_free();
        }
#endif
        r_.flush();
    }

#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
    // memory_buffer_alloc.c's block header: 7 words and magic2, 2 more words with backtraces.
#if defined(MBEDTLS_MEMORY_BACKTRACE)
    static constexpr std::uint64_t kPoolHeaderSize = 10 * sizeof(void*);
#else
    static constexpr std::uint64_t kPoolHeaderSize = 8 * sizeof(void*);
#endif
    std::vector<unsigned char> pool_;
    unsigned char* pool_base_ = nullptr;
#endif

    const RecorderOptions& o_;
    Listener* listener_;
    Recording& r_;
    TransportTap tap_;
    SocketTransport transport_;
    ConnectionResult result_;
    RandomSource rng_;
    mbedtls_ssl_context ssl_;
    mbedtls_ssl_config conf_;
#if defined(MBEDTLS_X509_CRT_PARSE_C)
    mbedtls_x509_crt ca_;
    mbedtls_x509_crt own_cert_;
#endif
#if defined(MBEDTLS_PK_C)
    mbedtls_pk_context own_key_;
#endif
    std::vector<int> ciphersuites_;
#if TLSHEAP_MBEDTLS_3
    std::vector<std::uint16_t> groups_;
#elif defined(MBEDTLS_ECP_C)
    std::vector<mbedtls_ecp_group_id> curves_;
#endif
    std::vector<unsigned char> psk_;
    [[maybe_unused]] bool psa_initialized_ = false;
    bool peer_closed_ = false;
    unsigned char* last_in_ = nullptr;
    unsigned char* last_out_ = nullptr;
    std::size_t sent_ = 0;
    std::size_t received_ = 0;
    unsigned long largest_in_record_ = 0;
};

} // namespace

ConnectionResult run_connection(const RecorderOptions& options, Listener* listener) {
    Connection connection(options, listener);
    return connection.run();
}

} // namespace tlsheap::recorder
