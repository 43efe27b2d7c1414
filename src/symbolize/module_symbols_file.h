// A module's lookups (ModuleSymbols) kept in a file between runs, so that a
// warm run symbolizes a trace without reading DWARF: the recorder's, beside
// the recorder in the build cache (it never changes there), other modules'
// (libc, ld.so) under their path, size, modification time and build id.
// The file names the identity it was written for; a file of another
// identity, or one that does not parse, is no file at all.
#pragma once

#include "symbolize/dwarf_symbolizer.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tlsheap::symbolize {

std::string encode_module_symbols(std::string_view identity, const ModuleSymbols& symbols);
// nullopt when `bytes` are not a whole symbols file of `identity`.
std::optional<ModuleSymbols> decode_module_symbols(std::string_view bytes,
                                                   std::string_view identity);

// nullopt when the file is missing, unreadable, corrupt or of another identity.
std::optional<ModuleSymbols> read_module_symbols(const std::filesystem::path& file,
                                                 std::string_view identity);
// Failures are ignored: the next run reads the DWARF again.
void write_module_symbols(const std::filesystem::path& file, std::string_view identity,
                          const ModuleSymbols& symbols);

} // namespace tlsheap::symbolize
