// The terminal profile report as a string, for tests that read its lines.
#pragma once

#include "report/terminal_profile.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tlsheap::report::testing {

inline std::string rendered_profile(const RunDescription& run, const replay::ReplayResult& result,
                                    const ReportOptions& options = {}) {
    char* buffer = nullptr;
    std::size_t size = 0;
    std::FILE* out = ::open_memstream(&buffer, &size);
    print_profile(out, run, result, options);
    std::fclose(out);
    std::string text(buffer, size);
    std::free(buffer);
    return text;
}

} // namespace tlsheap::report::testing
