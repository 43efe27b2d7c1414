#include "esp_buffer_overhead.h"

#include "tlsheap/trace_meta.h"

#include <cctype>
#include <charconv>
#include <optional>

namespace tlsheap::replay {

namespace {

class ConfigView {
  public:
    ConfigView(const ConfigMacros& config, const TraceMeta& meta) : config_(config), meta_(meta) {}

    bool has(const char* name) const { return config_.count(name) != 0; }

    // A numeric macro ("4096", "(4096)", "4096u"); nullopt if absent or not a number.
    std::optional<std::uint64_t> number(const char* name) const {
        const auto it = config_.find(name);
        return it == config_.end() ? std::nullopt : parse(it->second);
    }
    std::optional<std::uint64_t> meta_number(const char* key) const {
        const auto it = meta_.find(key);
        return it == meta_.end() ? std::nullopt : parse(it->second);
    }

    unsigned major_version() const {
        if (const auto major = number("MBEDTLS_VERSION_MAJOR"))
            return static_cast<unsigned>(*major);
        const auto it = meta_.find(trace::meta::kMbedtlsVersion);
        if (it != meta_.end() && !it->second.empty() && std::isdigit(it->second[0]))
            return static_cast<unsigned>(it->second[0] - '0');
        return 3;
    }

    static std::optional<std::uint64_t> parse(const std::string& text) {
        std::size_t first = 0;
        std::size_t last = text.size();
        while (first < last && (text[first] == '(' || std::isspace(text[first])))
            ++first;
        std::uint64_t value = 0;
        const auto [end, error] = std::from_chars(text.data() + first, text.data() + last, value);
        if (error != std::errc() || end == text.data() + first)
            return std::nullopt;
        return value;
    }

  private:
    const ConfigMacros& config_;
    const TraceMeta& meta_;
};

// mbedTLS 3.6 library/ssl_misc.h, with the MBEDTLS_SSL_HAVE_* and
// MBEDTLS_MD_CAN_* helpers of include/mbedtls/config_adjust_legacy_crypto.h
// taken from the Config records when the trace lists them and derived
// otherwise.
EspRecordOverhead overhead_3x(const ConfigView& c) {
    const bool use_psa = c.has("MBEDTLS_USE_PSA_CRYPTO");
    const bool psa = c.has("MBEDTLS_PSA_CRYPTO_C") || c.has("MBEDTLS_PSA_CRYPTO_CLIENT");
    auto ssl_have = [&](const char* derived, const char* legacy, const char* want) {
        return c.has(derived) || (use_psa ? c.has(want) : c.has(legacy));
    };
    auto md_can = [&](const char* derived, const char* legacy, const char* want) {
        return c.has(derived) || c.has(legacy) || (psa && c.has(want));
    };
    const bool tls12 = c.has("MBEDTLS_SSL_PROTO_TLS1_2");
    const bool have_cbc =
        ssl_have("MBEDTLS_SSL_HAVE_CBC", "MBEDTLS_CIPHER_MODE_CBC", "PSA_WANT_ALG_CBC_NO_PADDING");
    const bool some_block_cipher =
        ssl_have("MBEDTLS_SSL_HAVE_AES", "MBEDTLS_AES_C", "PSA_WANT_KEY_TYPE_AES") ||
        ssl_have("MBEDTLS_SSL_HAVE_CAMELLIA", "MBEDTLS_CAMELLIA_C", "PSA_WANT_KEY_TYPE_CAMELLIA") ||
        ssl_have("MBEDTLS_SSL_HAVE_ARIA", "MBEDTLS_ARIA_C", "PSA_WANT_KEY_TYPE_ARIA");
    const bool suites_use_cbc = tls12 && have_cbc && some_block_cipher;
    const bool suites_use_stream = tls12 && c.has("MBEDTLS_CIPHER_NULL_CIPHER");

    EspRecordOverhead o;
    if (suites_use_cbc || suites_use_stream) {
        if (md_can("MBEDTLS_MD_CAN_SHA384", "MBEDTLS_SHA384_C", "PSA_WANT_ALG_SHA_384"))
            o.mac_add = 48;
        else if (md_can("MBEDTLS_MD_CAN_SHA256", "MBEDTLS_SHA256_C", "PSA_WANT_ALG_SHA_256"))
            o.mac_add = 32;
        else
            o.mac_add = 20;
    }
    o.padding_add = have_cbc ? 256 : 0;
    if (c.has("MBEDTLS_SSL_DTLS_CONNECTION_ID"))
        o.cid_expansion = static_cast<unsigned>(
            c.number("MBEDTLS_SSL_CID_TLS1_3_PADDING_GRANULARITY").value_or(16));
    return o;
}

// mbedTLS 2.28 include/mbedtls/ssl_internal.h.
EspRecordOverhead overhead_2x(const ConfigView& c) {
    const bool suites_use_cbc = c.has("MBEDTLS_CIPHER_MODE_CBC") &&
                                (c.has("MBEDTLS_AES_C") || c.has("MBEDTLS_CAMELLIA_C") ||
                                 c.has("MBEDTLS_ARIA_C") || c.has("MBEDTLS_DES_C"));
    const bool modes_use_mac =
        c.has("MBEDTLS_ARC4_C") || c.has("MBEDTLS_CIPHER_NULL_CIPHER") || suites_use_cbc;
    EspRecordOverhead o;
    if (modes_use_mac)
        o.mac_add = c.has("MBEDTLS_SHA512_C") ? 48 : c.has("MBEDTLS_SHA256_C") ? 32 : 20;
    o.padding_add = c.has("MBEDTLS_CIPHER_MODE_CBC") ? 256 : 0;
    if (c.has("MBEDTLS_SSL_DTLS_CONNECTION_ID"))
        o.cid_expansion =
            static_cast<unsigned>(c.number("MBEDTLS_SSL_CID_PADDING_GRANULARITY").value_or(16));
    return o;
}

std::uint64_t content_len(const ConfigView& c, const char* meta_key, const char* macro) {
    if (const auto v = c.meta_number(meta_key))
        return *v;
    if (const auto v = c.number(macro))
        return *v;
    return c.number("MBEDTLS_SSL_MAX_CONTENT_LEN").value_or(16384);
}

} // namespace

EspRecordOverhead esp_record_overhead(const ConfigMacros& config, const TraceMeta& meta) {
    const ConfigView c(config, meta);
    return c.major_version() >= 3 ? overhead_3x(c) : overhead_2x(c);
}

EspBufferSizes esp_buffer_sizes(const ConfigMacros& config, const TraceMeta& meta) {
    const ConfigView c(config, meta);
    EspBufferSizes sizes;
    sizes.overhead = esp_record_overhead(config, meta);
    sizes.in_content_len =
        content_len(c, trace::meta::kSslInContentLen, "MBEDTLS_SSL_IN_CONTENT_LEN");
    if (const auto v = c.meta_number(trace::meta::kSslOutBufferLen)) {
        sizes.out_buffer_len = *v;
    } else {
        // MBEDTLS_SSL_HEADER_LEN + MBEDTLS_SSL_OUT_PAYLOAD_LEN [+ MBEDTLS_SSL_CID_OUT_LEN_MAX]:
        // the payload overhead is O without the 13-byte header, so the sum is O + content.
        sizes.out_buffer_len =
            sizes.overhead.total() +
            content_len(c, trace::meta::kSslOutContentLen, "MBEDTLS_SSL_OUT_CONTENT_LEN");
        if (c.has("MBEDTLS_SSL_DTLS_CONNECTION_ID"))
            sizes.out_buffer_len += c.number("MBEDTLS_SSL_CID_OUT_LEN_MAX").value_or(32);
        if (c.major_version() < 3 && c.has("MBEDTLS_ZLIB_SUPPORT"))
            sizes.out_buffer_len += 1024; // MBEDTLS_SSL_COMPRESSION_ADD
    }
    return sizes;
}

} // namespace tlsheap::replay
