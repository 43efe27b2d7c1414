// Makes every random byte the library sees a function of --seed. The bytes
// enter as entropy sources, below the entropy module: the application's
// entropy context and PSA's internal one gather, hash and allocate as they do
// on a device (mbedTLS 3's accumulator is an allocated md context), and both
// DRBGs are seeded from here instead of from the OS. Two runs of a scenario
// then take the same code paths and make the same allocations (ECDSA
// signature lengths, bignum sizes, padding all depend on random values),
// which is what a zero-tolerance CI gate needs.
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

// The entropy sources mbedtls_entropy_init adds (entropy.c, 2.28 and 3.6),
// each linked with --wrap (kRecorderWraps): the OS's getrandom, 2.28's
// cycle counter and HAVEGE, and the NV seed file. Every source the library
// polls yields the next deterministic bytes.
extern "C" {
int __wrap_mbedtls_platform_entropy_poll(void*, unsigned char* output, std::size_t len,
                                         std::size_t* olen);
int __wrap_mbedtls_hardclock_poll(void*, unsigned char* output, std::size_t len, std::size_t* olen);
int __wrap_mbedtls_havege_poll(void*, unsigned char* output, std::size_t len, std::size_t* olen);
int __wrap_mbedtls_nv_seed_poll(void*, unsigned char* output, std::size_t len, std::size_t* olen);
int __wrap_mbedtls_platform_std_nv_seed_read(unsigned char* buf, std::size_t len);
int __wrap_mbedtls_platform_std_nv_seed_write(unsigned char* buf, std::size_t len);
}

int tlsheap::recorder::deterministic_poll(void*, unsigned char* output, std::size_t len,
                                          std::size_t* olen) {
    deterministic_bytes(output, len);
    *olen = len;
    return 0;
}

int __wrap_mbedtls_platform_entropy_poll(void* data, unsigned char* output, std::size_t len,
                                         std::size_t* olen) {
    return tlsheap::recorder::deterministic_poll(data, output, len, olen);
}

int __wrap_mbedtls_hardclock_poll(void* data, unsigned char* output, std::size_t len,
                                  std::size_t* olen) {
    return tlsheap::recorder::deterministic_poll(data, output, len, olen);
}

int __wrap_mbedtls_havege_poll(void* data, unsigned char* output, std::size_t len,
                               std::size_t* olen) {
    return tlsheap::recorder::deterministic_poll(data, output, len, olen);
}

int __wrap_mbedtls_nv_seed_poll(void* data, unsigned char* output, std::size_t len,
                                std::size_t* olen) {
    return tlsheap::recorder::deterministic_poll(data, output, len, olen);
}

// The seed file itself: read as deterministic bytes, written nowhere, so that
// a recording neither depends on nor leaves a file in its directory.
int __wrap_mbedtls_platform_std_nv_seed_read(unsigned char* buf, std::size_t len) {
    tlsheap::recorder::deterministic_bytes(buf, len);
    return static_cast<int>(len);
}

int __wrap_mbedtls_platform_std_nv_seed_write(unsigned char*, std::size_t len) {
    return static_cast<int>(len);
}

#if defined(MBEDTLS_ENTROPY_HARDWARE_ALT)
// A device's TRNG, which the configuration says the application provides.
extern "C" int mbedtls_hardware_poll(void* data, unsigned char* output, std::size_t len,
                                     std::size_t* olen) {
    return tlsheap::recorder::deterministic_poll(data, output, len, olen);
}
#endif

#if defined(MBEDTLS_ENTROPY_NV_SEED) && defined(MBEDTLS_PLATFORM_NV_SEED_ALT)
#include <mbedtls/platform.h>
// With NV_SEED_ALT the library calls the seed functions through pointers
// that platform.c sets to its file functions, where --wrap does not reach.
namespace {
[[maybe_unused]] const int g_nv_seed_functions = mbedtls_platform_set_nv_seed(
    __wrap_mbedtls_platform_std_nv_seed_read, __wrap_mbedtls_platform_std_nv_seed_write);
} // namespace
#endif

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
