#include "variant_description.h"

#include "mbedtls_compat.h"
#include "module_map.h"
#include "recording.h"
#include "tlsheap/trace_meta.h"
#include "variant_info.h"

#include <cstddef>
#include <string>

extern "C" {
extern const unsigned long tlsheap_ssl_in_buffer_len;
extern const unsigned long tlsheap_ssl_out_buffer_len;
extern const unsigned long tlsheap_ssl_in_content_len;
extern const unsigned long tlsheap_ssl_out_content_len;
}

namespace tlsheap::recorder {

namespace {

const char* architecture() {
#if defined(__x86_64__)
    return "x86_64";
#elif defined(__i386__)
    return "i386";
#elif defined(__aarch64__)
    return "aarch64";
#elif defined(__arm__)
    return "arm";
#elif defined(__riscv)
    return "riscv";
#else
    return "unknown";
#endif
}

} // namespace

void describe_variant(Recording& r, const char* mbedtls_version) {
    namespace meta = trace::meta;
    r.meta(meta::kTlsheapVersion, kTlsheapVersion);
    r.meta(meta::kMbedtlsVersion, mbedtls_version);
    r.meta(meta::kVariantKey, kVariantKey);
    r.meta(meta::kAbi, kVariantAbi);
    r.meta(meta::kArch, architecture());
    r.meta(meta::kPointerSize, std::to_string(sizeof(void*)));
    r.meta(meta::kSizeTSize, std::to_string(sizeof(std::size_t)));
    r.meta(meta::kSslInContentLen, std::to_string(tlsheap_ssl_in_content_len));
    r.meta(meta::kSslOutContentLen, std::to_string(tlsheap_ssl_out_content_len));
    r.meta(meta::kSslInBufferLen, std::to_string(tlsheap_ssl_in_buffer_len));
    r.meta(meta::kSslOutBufferLen, std::to_string(tlsheap_ssl_out_buffer_len));
    for (unsigned i = 0; i < kEffectiveConfigCount; ++i) {
        r.config(kEffectiveConfig[i].name, kEffectiveConfig[i].value);
    }
    for (unsigned i = 0; i < kStateNameCount; ++i) {
        r.state_name(kStateNames[i].id, kStateNames[i].name);
    }
    record_module_map(r);
}

} // namespace tlsheap::recorder
