// Loads the certificates and keys a scenario names. Files are read with libc
// (on a device they sit in flash); only the library's parsing of them is on
// the recorded heap. PEM needs MBEDTLS_PEM_PARSE_C; DER files may hold several
// certificates back to back (a chain).
#pragma once

#include "mbedtls_compat.h"

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <string>
#include <vector>

namespace tlsheap::recorder {

bool read_file(const std::string& path, std::vector<unsigned char>& out, std::string& error);

#if defined(MBEDTLS_X509_CRT_PARSE_C)
// Returns 0 or an mbedTLS error; sets `error` to one line naming the file.
int parse_certificates(mbedtls_x509_crt* chain, const std::string& path, std::string& error);
#endif

#if defined(MBEDTLS_PK_PARSE_C)
int parse_private_key(mbedtls_pk_context* key, const std::string& path,
                      int (*f_rng)(void*, unsigned char*, size_t), void* p_rng, std::string& error);
#endif

// "-0x2700 (X509 - Certificate verification failed ...)" when the variant
// has MBEDTLS_ERROR_C, else just the code.
std::string describe_mbedtls_error(int ret);

} // namespace tlsheap::recorder
