// mbedTLS's error codes by name, read from the tree's own headers (so each
// version names its own), and which of them mean "out of memory": every
// MBEDTLS_ERR_*_ALLOC_FAILED and PSA_ERROR_INSUFFICIENT_MEMORY.
#pragma once

#include "variants/mbedtls_tree.h"

#include <map>
#include <string>

namespace tlsheap::build {

class ErrorCodes {
  public:
    // Reads include/mbedtls/*.h and include/psa/*.h. Throws BuildError.
    static ErrorCodes of_tree(const MbedtlsTree& tree);

    // "MBEDTLS_ERR_X509_INVALID_FORMAT + MBEDTLS_ERR_ASN1_OUT_OF_DATA
    // (-0x2180)": mbedTLS adds a high-level and a low-level code; PSA's
    // codes (-128..-255) stand alone. Unknown parts as "-0x....".
    std::string name(int ret) const;
    // Whether either part of `ret` is an out-of-memory code.
    bool out_of_memory(int ret) const;

  private:
    std::map<int, std::string> names_; // by the positive value
    std::map<int, bool> alloc_failed_;
};

} // namespace tlsheap::build
