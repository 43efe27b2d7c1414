// A TlsRecord's flags by name (trace::record_flag_name), as `tlsheap trace`
// and the viewers list them.
#pragma once

#include "tlsheap/trace_format.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tlsheap::report {

// Lowest bit first; a bit of a newer format version is left out.
inline std::vector<std::string> record_flag_names(std::uint8_t flags) {
    std::vector<std::string> names;
    for (unsigned bit = 1; bit <= 0x80; bit <<= 1) {
        const char* name = trace::record_flag_name(bit);
        if ((flags & bit) != 0 && name != nullptr) {
            names.emplace_back(name);
        }
    }
    return names;
}

} // namespace tlsheap::report
