// The application's random generator, as a real application sets one up:
// entropy context + CTR_DRBG (or HMAC_DRBG, or neither when the variant has
// no DRBG). Its entropy is deterministic (deterministic_entropy.cpp), so its
// output is too. Every connection draws from the one generator.
#pragma once

#include "mbedtls_compat.h"

#include <cstddef>

#if defined(MBEDTLS_CTR_DRBG_C)
#include <mbedtls/ctr_drbg.h>
#elif defined(MBEDTLS_HMAC_DRBG_C)
#include <mbedtls/hmac_drbg.h>
#endif
#if defined(MBEDTLS_ENTROPY_C)
#include <mbedtls/entropy.h>
#endif

namespace tlsheap::recorder {

class RandomSource {
  public:
    RandomSource();
    ~RandomSource() { release(); }
    RandomSource(const RandomSource&) = delete;
    RandomSource& operator=(const RandomSource&) = delete;

    // Returns 0 or an mbedTLS error.
    int seed();
    // Frees the contexts; safe to call more than once.
    void release();

    // An f_rng for mbedTLS; `self` is the RandomSource.
    static int random(void* self, unsigned char* out, std::size_t len);

  private:
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

} // namespace tlsheap::recorder
