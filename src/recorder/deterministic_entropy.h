#pragma once

#include <cstddef>
#include <cstdint>

namespace tlsheap::recorder {

// All randomness of the recorded process derives from this seed.
void seed_deterministic_entropy(std::uint64_t seed);
void deterministic_bytes(unsigned char* out, std::size_t len);

} // namespace tlsheap::recorder
