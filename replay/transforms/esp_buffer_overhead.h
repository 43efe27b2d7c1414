// The record-buffer arithmetic of ESP-IDF's dynamic buffers, from a trace's
// effective mbedTLS configuration (its Config records) and metadata.
//
// ESP-IDF v5.5 components/mbedtls/port/dynamic/esp_mbedtls_dynamic_impl.c
// sizes every dynamic buffer with tx_buffer_len(): a content length plus
// MBEDTLS_SSL_HEADER_LEN (13) + MBEDTLS_MAX_IV_LENGTH (16) +
// MBEDTLS_SSL_MAC_ADD + MBEDTLS_SSL_PADDING_ADD + MBEDTLS_SSL_MAX_CID_EXPANSION
// -- the overhead O -- and a content length of 0 stands for the whole
// MBEDTLS_SSL_OUT_BUFFER_LEN. The macros are mbedTLS's own, derived here from
// the configuration exactly as mbedTLS 3.6 library/ssl_misc.h (and 2.28
// include/mbedtls/ssl_internal.h) derive them.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace tlsheap::replay {

// Config macro name -> value ("" for a macro defined without one).
using ConfigMacros = std::map<std::string, std::string>;
using TraceMeta = std::map<std::string, std::string>;

struct EspRecordOverhead {
    unsigned mac_add = 16;      // MBEDTLS_SSL_MAC_ADD
    unsigned padding_add = 0;   // MBEDTLS_SSL_PADDING_ADD
    unsigned cid_expansion = 0; // MBEDTLS_SSL_MAX_CID_EXPANSION
    // O: 13 (header) + 16 (max IV) + the three above.
    std::uint64_t total() const { return 13 + 16 + mac_add + padding_add + cid_expansion; }
};

EspRecordOverhead esp_record_overhead(const ConfigMacros& config, const TraceMeta& meta);

struct EspBufferSizes {
    EspRecordOverhead overhead;
    std::uint64_t out_buffer_len = 0; // MBEDTLS_SSL_OUT_BUFFER_LEN
    std::uint64_t in_content_len = 0; // MBEDTLS_SSL_IN_CONTENT_LEN
};

// The buffer lengths as the recorded library computed them (metadata
// ssl.out_buffer_len, ssl.in_content_len) or, for traces without them, as
// mbedTLS derives them from the configuration.
EspBufferSizes esp_buffer_sizes(const ConfigMacros& config, const TraceMeta& meta);

} // namespace tlsheap::replay
