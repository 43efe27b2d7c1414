// The library reads the wall clock through time() (mbedtls_time is a macro
// for it unless MBEDTLS_PLATFORM_TIME_ALT): TLS 1.2 puts it in the first four
// bytes of ClientHello/ServerHello random, so it reaches the signed hash and
// with it the length of every ECDSA signature (DER drops leading zeros),
// which changes record lengths and bignum sizes. The variant is linked with
// -Wl,--wrap=time so that a deterministic run reads a fixed clock.
#include "deterministic_time.h"

#include <ctime>

namespace {
std::int64_t g_fixed_epoch = 0;
} // namespace

namespace tlsheap::recorder {

void fix_library_time(std::int64_t epoch) {
    g_fixed_epoch = epoch;
}

} // namespace tlsheap::recorder

extern "C" {
std::time_t __real_time(std::time_t* out);
std::time_t __wrap_time(std::time_t* out);
}

std::time_t __wrap_time(std::time_t* out) {
    if (g_fixed_epoch == 0) {
        return __real_time(out);
    }
    const auto t = static_cast<std::time_t>(g_fixed_epoch);
    if (out != nullptr) {
        *out = t;
    }
    return t;
}
