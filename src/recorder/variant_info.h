// Facts about the variant this recorder was built with. The build stage
// generates variant_info.cpp for every variant: the effective configuration
// (as the preprocessor saw it) and the handshake state names, read from the
// tree's own ssl.h so that every mbedTLS version names its states itself.
#pragma once

namespace tlsheap::recorder {

struct ConfigMacro {
    const char* name;
    const char* value; // "" for a macro defined without a value
};
extern const ConfigMacro kEffectiveConfig[];
extern const unsigned kEffectiveConfigCount;

struct StateName {
    int id;
    const char* name; // without the MBEDTLS_SSL_ prefix
};
extern const StateName kStateNames[];
extern const unsigned kStateNameCount;

extern const char* const kVariantAbi; // "host", "ilp32", "arm"
extern const char* const kVariantKey; // the build cache key
extern const char* const kTlsheapVersion;

} // namespace tlsheap::recorder
