// The keys of a trace's Meta records (`key:str value:str`), the values the
// tools compare against, and the parsing of the values that are not plain
// text. Every stage that writes or reads a key names it from here;
// docs/trace-format.md documents each one, and a test checks the two lists
// are the same. Header-only and standard C++ only, because the recorder is
// compiled with every mbedTLS variant and for every target ABI.
//
// The keys are character arrays rather than std::string_view so that they
// convert to std::string where the host looks them up (std::map<std::string,
// ...> and `const std::string&` parameters).
#pragma once

#include "tlsheap/tls_wire.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace tlsheap::trace {

namespace meta {

// --- the recording: written by the recorder ---------------------------------
inline constexpr char kTlsheapVersion[] = "tlsheap.version"; // tlsheap that built the recorder
inline constexpr char kRecorderSide[] = "recorder.side";     // "client" or "server"
inline constexpr char kTransport[] = "transport";  // kTransportStream or kTransportDatagram
inline constexpr char kSeed[] = "seed";            // the deterministic entropy's seed
inline constexpr char kFixedTime[] = "fixed_time"; // the library's clock, seconds; 0: real time
// Where the deterministic bytes enter: kEntropySources, below the entropy
// module, so the entropy and hash contexts an application holds are recorded.
// Absent in older traces, whose recorder replaced mbedtls_entropy_func.
inline constexpr char kEntropy[] = "entropy";
// A user's program recorded with `tlsheap record`: its name as it was run
// (the driver's recordings have none).
inline constexpr char kProgram[] = "program";
// Whether the driver calls psa_crypto_init before its first connection:
// psa_init_name() of the scenario's psa_init. Absent in older traces, whose
// recorder called it on every mbedTLS 3 variant with PSA.
inline constexpr char kPsaInit[] = "psa.init";

// --- the connections (docs/scenarios.md, "lifecycle"): the recorder --------
inline constexpr char kLifecycleConnections[] = "lifecycle.connections"; // concurrent, per cycle
inline constexpr char kLifecycleStart[] = "lifecycle.start";             // "together", "staggered"
inline constexpr char kLifecycleReconnects[] = "lifecycle.reconnects"; // cycles, one after another
// How later connections resume the first one's session: "session-id" or
// "ticket" (lifecycle::resume_name); absent when they do not (format 1.2).
inline constexpr char kLifecycleResume[] = "lifecycle.resume";
// "request" when the client sent its request as TLS 1.3 early data on each
// resumed connection; absent otherwise (format 1.3).
inline constexpr char kLifecycleEarlyData[] = "lifecycle.early_data";
inline constexpr char kEarlyDataRequest[] = "request";

// --- the variant: written by the recorder -----------------------------------
inline constexpr char kMbedtlsVersion[] = "mbedtls.version"; // "3.6.6"
inline constexpr char kVariantKey[] = "variant.key";         // the library's build cache key
inline constexpr char kAbi[] = "abi";                        // "host", "ilp32" or "arm"
inline constexpr char kArch[] = "arch";                      // "x86_64", "i386", "arm", ...
inline constexpr char kPointerSize[] = "pointer_size";       // sizeof(void*), "4" or "8"
inline constexpr char kSizeTSize[] = "size_t_size";          // sizeof(size_t)
inline constexpr char kStackBackend[] = "stack.backend"; // "libunwind", ... or kStackBackendNone
// The painted stack the recorder ran on, bytes (StackHighWater records);
// absent when it did not paint (a user's program, a sanitizer build).
inline constexpr char kStackPainted[] = "stack.painted";

// --- the heap the recording ran on: written by the recorder -----------------
inline constexpr char kAllocator[] = "allocator"; // kAllocatorLibc or kAllocatorMemoryBufferAlloc
inline constexpr char kPoolSize[] = "pool.size";  // memory_buffer_alloc's pool, bytes
inline constexpr char kPoolBase[] = "pool.base";  // the pool's address, decimal

// --- the record buffers, as the library computes them: the recorder ---------
inline constexpr char kSslInContentLen[] = "ssl.in_content_len";   // bytes
inline constexpr char kSslOutContentLen[] = "ssl.out_content_len"; // bytes
inline constexpr char kSslInBufferLen[] = "ssl.in_buffer_len";   // bytes, with header and overhead
inline constexpr char kSslOutBufferLen[] = "ssl.out_buffer_len"; // bytes, with header and overhead
// The maximum fragment length the client asked for (0: none); absent
// without MBEDTLS_SSL_MAX_FRAGMENT_LENGTH and on the server side.
inline constexpr char kSslMaxFragmentLengthRequested[] = "ssl.max_fragment_length_requested";

// --- the profile run: passed through the recorder by `tlsheap profile` ------
inline constexpr char kScenarioName[] = "scenario.name"; // "tls12-ecdhe-ecdsa-p256"
inline constexpr char kScenarioJson[] = "scenario.json"; // the whole scenario file
inline constexpr char kPeer[] = "peer";                  // "mbedtls", "openssl" or "external"
// What `profile --connect` changed in the scenario (ConnectOptions::summary()).
inline constexpr char kConnectOptions[] = "connect.options";
inline constexpr char kMbedtlsTree[] = "mbedtls.tree";                  // the source tree's path
inline constexpr char kMbedtlsOrigin[] = "mbedtls.origin";              // where the tree came from
inline constexpr char kConfigLabel[] = "config.label";                  // config path and deltas
inline constexpr char kConfigName[] = "config.name";                    // the same, file name only
inline constexpr char kConfigEffectiveFile[] = "config.effective_file"; // the config as built
inline constexpr char kConfigBaseFile[] = "config.base_file";           // the user's config, or ""
inline constexpr char kConfigDeltas[] = "config.deltas";                // "--set X=1\n--unset Y"
// How a finished trace writes the paths of the machine it was recorded on
// (meta values, config macros, modules, frames' files): under tlsheap's
// cache, "<cache>/builds/..."; under tlsheap's own files, "<tlsheap>/...".
inline constexpr char kCachePath[] = "<cache>";
inline constexpr char kToolPath[] = "<tlsheap>";

// --- replay: written by a transform into the stream it rewrites -------------
inline constexpr char kTransform[] = "transform"; // the transform and every option in effect
// The application blocks --app-heap added (AppHeapSpec::text()).
inline constexpr char kAppHeap[] = "app_heap";

// Every key above, for checks that must see them all.
inline constexpr auto kAllKeys = std::to_array<std::string_view>({
    kTlsheapVersion,
    kRecorderSide,
    kTransport,
    kSeed,
    kFixedTime,
    kEntropy,
    kPsaInit,
    kProgram,
    kLifecycleConnections,
    kLifecycleStart,
    kLifecycleReconnects,
    kLifecycleResume,
    kLifecycleEarlyData,
    kMbedtlsVersion,
    kVariantKey,
    kAbi,
    kArch,
    kPointerSize,
    kSizeTSize,
    kStackBackend,
    kStackPainted,
    kAllocator,
    kPoolSize,
    kPoolBase,
    kSslInContentLen,
    kSslOutContentLen,
    kSslInBufferLen,
    kSslOutBufferLen,
    kSslMaxFragmentLengthRequested,
    kScenarioName,
    kScenarioJson,
    kPeer,
    kConnectOptions,
    kMbedtlsTree,
    kMbedtlsOrigin,
    kConfigLabel,
    kConfigName,
    kConfigEffectiveFile,
    kConfigBaseFile,
    kConfigDeltas,
    kTransform,
    kAppHeap,
});

// The keys whose values are decimal numbers (docs/trace-format.md): a
// reader refuses a trace where one is anything else, so that every tool can
// read them with meta_number().
inline constexpr auto kNumericKeys = std::to_array<std::string_view>({
    kSeed,
    kFixedTime,
    kLifecycleConnections,
    kLifecycleReconnects,
    kPointerSize,
    kSizeTSize,
    kPoolSize,
    kStackPainted,
    kPoolBase,
    kSslInContentLen,
    kSslOutContentLen,
    kSslInBufferLen,
    kSslOutBufferLen,
    kSslMaxFragmentLengthRequested,
});

inline constexpr bool is_numeric_key(std::string_view key) {
    for (const std::string_view k : kNumericKeys) {
        if (k == key) {
            return true;
        }
    }
    return false;
}

// --- values -----------------------------------------------------------------
inline constexpr char kTransportStream[] = "stream";     // TLS over TCP
inline constexpr char kTransportDatagram[] = "datagram"; // DTLS over UDP
inline constexpr char kAllocatorLibc[] = "libc";
inline constexpr char kAllocatorMemoryBufferAlloc[] = "mbedtls_memory_buffer_alloc";
inline constexpr char kStackBackendNone[] = "none"; // stacks were not captured
inline constexpr char kEntropySources[] = "sources";
// A program's own entropy sources (`tlsheap record`): not deterministic.
inline constexpr char kEntropyProgram[] = "program";

// A scenario's psa_init (docs/scenarios.md): Auto calls psa_crypto_init when
// the configuration needs it before a handshake, as mbedTLS's ssl_client2
// decides (MBEDTLS_USE_PSA_CRYPTO; a TLS 1.3 handshake of 3.6 calls it itself).
enum class PsaInit : std::uint8_t { Auto, Always, Never };

inline constexpr const char* psa_init_name(PsaInit p) {
    switch (p) {
    case PsaInit::Always:
        return "always";
    case PsaInit::Never:
        return "never";
    case PsaInit::Auto:
        break;
    }
    return "auto";
}

inline constexpr std::optional<PsaInit> psa_init_from_name(std::string_view name) {
    for (PsaInit p : {PsaInit::Auto, PsaInit::Always, PsaInit::Never}) {
        if (name == psa_init_name(p)) {
            return p;
        }
    }
    return std::nullopt;
}

// recorder.side as a side. The recorder always writes one of the two names;
// anything but "server" reads as the client.
inline constexpr tls::Side recorder_side(std::string_view value) {
    return value == tls::side_name(tls::Side::Server) ? tls::Side::Server : tls::Side::Client;
}

// pointer_size in bytes: 4 when the trace says "4", else 8.
inline constexpr unsigned pointer_size(std::string_view value) {
    return value == "4" ? 4 : 8;
}

} // namespace meta

// Whether `value` is a decimal number that fits 64 bits ("" is not).
inline bool is_meta_number(std::string_view value) {
    std::uint64_t number = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    return !value.empty() && error == std::errc() && end == value.data() + value.size();
}

// A numeric metadata value ("16384" for ssl.in_content_len); 0 when the
// trace does not have it (older recorders). The reader has refused a trace
// where a key of kNumericKeys is not a number.
inline std::uint64_t meta_number(std::string_view value) {
    std::uint64_t number = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    return error == std::errc() && end == value.data() + value.size() ? number : 0;
}

} // namespace tlsheap::trace
