#pragma once

#include <cstddef>
#include <cstdint>

namespace tlsheap::recorder {

// All randomness of the recorded process derives from this seed.
void seed_deterministic_entropy(std::uint64_t seed);
void deterministic_bytes(unsigned char* out, std::size_t len);
// The same bytes as an entropy source (mbedtls_entropy_f_source_ptr).
int deterministic_poll(void* data, unsigned char* output, std::size_t len, std::size_t* olen);

} // namespace tlsheap::recorder
