// What a printer that writes to a FILE* (the terminal reports) prints, as a
// string, for tests that read its lines.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tlsheap::testing {

template <typename Print>
std::string printed_text(Print print) {
    char* buffer = nullptr;
    std::size_t size = 0;
    std::FILE* out = ::open_memstream(&buffer, &size);
    print(out);
    std::fclose(out);
    std::string text(buffer, size);
    std::free(buffer);
    return text;
}

} // namespace tlsheap::testing
