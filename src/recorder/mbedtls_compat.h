// The few places where mbedTLS 2.28 and 3.x differ in what the recorder uses.
// Everything else is the same API. Included before any mbedTLS header.
#pragma once

// The recorder reads ssl->state and ssl->in_buf/out_buf: private in 3.x.
#define MBEDTLS_ALLOW_PRIVATE_ACCESS

#if __has_include(<mbedtls/build_info.h>)
#include <mbedtls/build_info.h>
#else
#if !defined(MBEDTLS_CONFIG_FILE)
#include <mbedtls/config.h>
#else
#include MBEDTLS_CONFIG_FILE
#endif
#include <mbedtls/version.h>
#endif

#if !defined(MBEDTLS_PRIVATE)
#define MBEDTLS_PRIVATE(member) member
#endif

#if MBEDTLS_VERSION_MAJOR < 2 || (MBEDTLS_VERSION_MAJOR == 2 && MBEDTLS_VERSION_MINOR < 28)
#error "tlsheap supports mbedTLS 2.28 and 3.x; this tree is older"
#endif
#if MBEDTLS_VERSION_MAJOR > 3
#error                                                                                             \
    "tlsheap supports mbedTLS 2.28 and 3.x; this tree is newer (4.x moved crypto into TF-PSA-Crypto)"
#endif

#define TLSHEAP_MBEDTLS_3 (MBEDTLS_VERSION_MAJOR >= 3)
