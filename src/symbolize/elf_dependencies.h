// The shared libraries an ELF program names (DT_NEEDED): enough to tell a
// program that uses mbedTLS from shared libraries, which `tlsheap record`
// cannot record, from one linked with an exported variant.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tlsheap::symbolize {

// Empty when the file is not a readable ELF object or names none.
std::vector<std::string> needed_libraries(const std::filesystem::path& elf);

} // namespace tlsheap::symbolize
