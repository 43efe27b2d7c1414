// Makes every random byte the library sees a function of --seed. The variant
// is linked with -Wl,--wrap=mbedtls_entropy_func, so both the application's
// DRBG and PSA's internal one are seeded from here instead of from the OS.
// Two runs of a scenario then take the same code paths and make the same
// allocations (ECDSA signature lengths, bignum sizes, padding all depend on
// random values), which is what a zero-tolerance CI gate needs.
#include "deterministic_entropy.h"

#include "mbedtls_compat.h"

#include <cstddef>
#include <cstdint>

namespace tlsheap::recorder {

namespace {

std::uint64_t g_state = 0x9e3779b97f4a7c15ull;

// splitmix64: a tiny, well-distributed generator; cryptographic quality is
// irrelevant for a deterministic test peer.
std::uint64_t next_word() {
    std::uint64_t z = (g_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

} // namespace

void seed_deterministic_entropy(std::uint64_t seed) {
    g_state = seed * 0x2545f4914f6cdd1dull + 1;
}

void deterministic_bytes(unsigned char* out, std::size_t len) {
    while (len > 0) {
        std::uint64_t w = next_word();
        for (int i = 0; i < 8 && len > 0; ++i, --len) {
            *out++ = static_cast<unsigned char>(w);
            w >>= 8;
        }
    }
}

} // namespace tlsheap::recorder

extern "C" int __wrap_mbedtls_entropy_func(void* data, unsigned char* output, std::size_t len);

int __wrap_mbedtls_entropy_func(void* /*data*/, unsigned char* output, std::size_t len) {
    tlsheap::recorder::deterministic_bytes(output, len);
    return 0;
}

#if defined(MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG)
// With an external RNG configured, PSA asks the application for randomness.
#include <psa/crypto.h>
extern "C" psa_status_t mbedtls_psa_external_get_random(mbedtls_psa_external_random_context_t*,
                                                        std::uint8_t* output, std::size_t size,
                                                        std::size_t* length) {
    tlsheap::recorder::deterministic_bytes(output, size);
    *length = size;
    return PSA_SUCCESS;
}
#endif
