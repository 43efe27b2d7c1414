// A program's mbedTLS calls reach the recorder in one of two ways, and the
// hooks (program_hooks.cpp, psa_state.cpp) are written once for both:
// - linked with an exported variant's --wrap options, the hook is
//   __wrap_NAME and the library's function __real_NAME;
// - preloaded into a program that loads mbedTLS as shared libraries
//   (TLSHEAP_PRELOAD; `tlsheap record` builds that shim), the hook is NAME
//   itself, found before the library's because the shim is loaded first,
//   and the library's function is the next definition (dlsym RTLD_NEXT).
#pragma once

#if defined(TLSHEAP_PRELOAD)
#include <dlfcn.h>

#define TLSHEAP_HOOK(name) name
// Looked up once per hook; the libraries a program loads at start stay.
#define TLSHEAP_REAL(name)                                                                         \
    ([] {                                                                                          \
        static const auto next = reinterpret_cast<decltype(&name)>(dlsym(RTLD_NEXT, #name));       \
        return next;                                                                               \
    }())
#else
#define TLSHEAP_HOOK(name) __wrap_##name
#define TLSHEAP_REAL(name) __real_##name
#endif
