#pragma once

#include "mbedtls_compat.h"

#include <cstddef>
#include <cstdint>

// The configuration gives mbedtls_entropy_init no strong source of its own
// (entropy.c of 2.28 and 3.6): an application adds its device's, and PSA's
// internal entropy context has none.
#if defined(MBEDTLS_ENTROPY_C) &&                                                                  \
    (defined(MBEDTLS_NO_DEFAULT_ENTROPY_SOURCES) ||                                                \
     (defined(MBEDTLS_NO_PLATFORM_ENTROPY) && !defined(MBEDTLS_ENTROPY_HARDWARE_ALT) &&            \
      !defined(MBEDTLS_ENTROPY_NV_SEED) && !defined(MBEDTLS_HAVEGE_C) &&                           \
      !defined(MBEDTLS_TEST_NULL_ENTROPY)))
#define TLSHEAP_NO_STRONG_ENTROPY_SOURCE 1
#endif

namespace tlsheap::recorder {

// All randomness of the recorded process derives from this seed.
void seed_deterministic_entropy(std::uint64_t seed);
void deterministic_bytes(unsigned char* out, std::size_t len);
// The same bytes as an entropy source (mbedtls_entropy_f_source_ptr).
int deterministic_poll(void* data, unsigned char* output, std::size_t len, std::size_t* olen);

} // namespace tlsheap::recorder
