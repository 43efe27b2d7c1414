#include "random_source.h"

#include "deterministic_entropy.h"

#if !defined(MBEDTLS_CTR_DRBG_C) && defined(MBEDTLS_HMAC_DRBG_C)
#include <mbedtls/md.h>
#endif

namespace tlsheap::recorder {

namespace {

// The entropy source when the variant has no entropy module.
[[maybe_unused]] int fallback_entropy(void*, unsigned char* out, std::size_t len) {
    deterministic_bytes(out, len);
    return 0;
}

} // namespace

RandomSource::RandomSource() {
#if defined(MBEDTLS_ENTROPY_C)
    mbedtls_entropy_init(&entropy_);
#if defined(TLSHEAP_NO_STRONG_ENTROPY_SOURCE)
    // No strong source of the library's own: the application adds its
    // device's, as firmware adds its TRNG. (PSA's own entropy context has none.)
    mbedtls_entropy_add_source(&entropy_, deterministic_poll, nullptr, MBEDTLS_ENTROPY_BLOCK_SIZE,
                               MBEDTLS_ENTROPY_SOURCE_STRONG);
#endif
#endif
#if defined(MBEDTLS_CTR_DRBG_C)
    mbedtls_ctr_drbg_init(&drbg_);
#elif defined(MBEDTLS_HMAC_DRBG_C)
    mbedtls_hmac_drbg_init(&drbg_);
#endif
}

int RandomSource::seed() {
    static const unsigned char personalization[] = "tlsheap";
#if defined(MBEDTLS_ENTROPY_C)
    int (*entropy_fn)(void*, unsigned char*, std::size_t) = mbedtls_entropy_func;
    void* entropy_ctx = &entropy_;
#else
    int (*entropy_fn)(void*, unsigned char*, std::size_t) = &fallback_entropy;
    void* entropy_ctx = nullptr;
#endif
#if defined(MBEDTLS_CTR_DRBG_C)
    return mbedtls_ctr_drbg_seed(&drbg_, entropy_fn, entropy_ctx, personalization,
                                 sizeof(personalization) - 1);
#elif defined(MBEDTLS_HMAC_DRBG_C)
    return mbedtls_hmac_drbg_seed(&drbg_, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), entropy_fn,
                                  entropy_ctx, personalization, sizeof(personalization) - 1);
#else
    (void)entropy_fn;
    (void)entropy_ctx;
    return 0;
#endif
}

void RandomSource::release() {
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

int RandomSource::random(void* self, unsigned char* out, std::size_t len) {
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

} // namespace tlsheap::recorder
