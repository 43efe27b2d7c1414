/* The record buffer sizes mbedTLS derives inside the library (ssl_misc.h in
 * 3.x, ssl_internal.h in 2.28). Compiled as C because those internal headers
 * are not meant for a C++ compiler. */
#if __has_include("ssl_misc.h")
#include "ssl_misc.h"
#else
#include "mbedtls/ssl_internal.h"
#endif

const unsigned long tlsheap_ssl_in_buffer_len = MBEDTLS_SSL_IN_BUFFER_LEN;
const unsigned long tlsheap_ssl_out_buffer_len = MBEDTLS_SSL_OUT_BUFFER_LEN;
const unsigned long tlsheap_ssl_in_content_len = MBEDTLS_SSL_IN_CONTENT_LEN;
const unsigned long tlsheap_ssl_out_content_len = MBEDTLS_SSL_OUT_CONTENT_LEN;
