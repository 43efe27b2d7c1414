// The transforms the replay knows, and how a --transform argument becomes one.
#include "axtls_growth_transform.h"
#include "config_delta_transform.h"
#include "esp_dynamic_transform.h"
#include "tlsheap/spec_options.h"
#include "tlsheap/transform.h"

namespace tlsheap::replay {

namespace {

const std::vector<TransformInfo>& catalog() {
    static const std::vector<TransformInfo> transforms = {
        {"esp-dynamic",
         "ESP-IDF v5.5 dynamic TX/RX buffers (CONFIG_MBEDTLS_DYNAMIC_BUFFER), mbedTLS 3.6 "
         "client: buffers sized per record, idle 45 + 24 bytes between records",
         "free_ca_cert=on|off, free_config_data=on|off, static_rx=on|off"},
        {"axtls-growth",
         "axTLS-style record buffer (ESP8266 Arduino core): one buffer of initial + 1024 "
         "bytes that grows by realloc for larger records and never shrinks",
         "initial=BYTES, shared=on|off, purge_certs=on|off"},
        {"config-delta",
         "the same handshake under a smaller mbedTLS config, predicted: record buffers "
         "for other IN/OUT_CONTENT_LEN, MBEDTLS_SSL_KEEP_PEER_CERTIFICATE or "
         "MBEDTLS_SSL_PROTO_TLS1_3 off (what tlsheap advise predicts with)",
         "in_content_len=BYTES, out_content_len=BYTES, keep_peer_cert=on|off, tls13=on|off"},
    };
    return transforms;
}

std::string on_off(bool on) {
    return on ? "on" : "off";
}

} // namespace

std::vector<TransformInfo> transform_catalog() {
    return catalog();
}

std::unique_ptr<RecordSource> make_transform(const TransformSpec& spec,
                                             std::unique_ptr<RecordSource> input) {
    const TransformInfo* info = nullptr;
    for (const TransformInfo& t : catalog())
        if (t.name == spec.name)
            info = &t;
    if (info == nullptr) {
        std::string names;
        for (const TransformInfo& t : catalog())
            names += (names.empty() ? "" : ", ") + t.name;
        throw TransformError("unknown transform '" + spec.name + "' (transforms: " + names + ")");
    }
    SpecOptions<TransformError> options("transform", info->name, info->options, spec.options);
    if (spec.name == "esp-dynamic") {
        EspDynamicTransform::Options o;
        o.free_ca_cert = options.on_off("free_ca_cert", true);
        o.free_config_data = options.on_off("free_config_data", true);
        o.static_rx = options.on_off("static_rx", false);
        options.finish();
        // The Meta "transform" record names every option in effect.
        const std::string text = "esp-dynamic:free_ca_cert=" + on_off(o.free_ca_cert) +
                                 ",free_config_data=" + on_off(o.free_config_data) +
                                 ",static_rx=" + on_off(o.static_rx);
        return std::make_unique<EspDynamicTransform>(std::move(input), o, text);
    }
    if (spec.name == "config-delta") {
        ConfigDeltaTransform::Options o;
        o.in_content_len = options.bytes("in_content_len", 0, 0, 16384);
        o.out_content_len = options.bytes("out_content_len", 0, 0, 16384);
        o.keep_peer_cert = options.on_off("keep_peer_cert", true);
        o.tls13 = options.on_off("tls13", true);
        options.finish();
        std::string text =
            "config-delta:keep_peer_cert=" + on_off(o.keep_peer_cert) + ",tls13=" + on_off(o.tls13);
        if (o.in_content_len != 0)
            text += ",in_content_len=" + std::to_string(o.in_content_len);
        if (o.out_content_len != 0)
            text += ",out_content_len=" + std::to_string(o.out_content_len);
        return std::make_unique<ConfigDeltaTransform>(std::move(input), o, text);
    }
    AxtlsGrowthTransform::Options o;
    o.initial = options.bytes("initial", 5840, 512, AxtlsGrowthTransform::kMaxPlain);
    o.shared = options.on_off("shared", true);
    o.purge_certs = options.on_off("purge_certs", true);
    options.finish();
    const std::string text = "axtls-growth:initial=" + std::to_string(o.initial) +
                             ",shared=" + on_off(o.shared) +
                             ",purge_certs=" + on_off(o.purge_certs);
    return std::make_unique<AxtlsGrowthTransform>(std::move(input), o, text);
}

} // namespace tlsheap::replay
