// `tlsheap build --export DIR`: a variant as a package that a user's own
// program builds against, so that `tlsheap record` can record it. DIR gets
// the variant's headers (the effective config in place of the tree's default
// config header, so no macro is needed), the mbedTLS static libraries split
// as mbedTLS's own build splits them (libmbedcrypto, libmbedx509,
// libmbedtls), the recording library (libtlsheap_record.a) and two ways to
// use them: a pkg-config file and a CMake package, both adding the link
// options the recording needs (--wrap).
#pragma once

#include "variants/variant_builder.h"

#include <filesystem>
#include <string>
#include <vector>

namespace tlsheap::build {

struct VariantPackage {
    std::filesystem::path dir;
    std::filesystem::path pkg_config_file;
    std::filesystem::path cmake_config_file;
    std::vector<std::filesystem::path> libraries;
};

// Which of mbedTLS's three libraries a library object belongs to, by its
// source's file name ("ssl_tls" -> "mbedtls"), as library/CMakeLists.txt
// lists them: the TLS sources, the X.509 sources, and crypto the rest.
std::string mbedtls_library_of(const std::string& source_stem);

// Writes the package into `dir`: created if missing, replaced if it holds an
// earlier export, refused (BuildError) if it holds anything else.
VariantPackage write_variant_package(const PreparedVariant& prepared, const ProgramShim& shim,
                                     const std::filesystem::path& dir);

} // namespace tlsheap::build
