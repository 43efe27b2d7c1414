#pragma once

#include <cstdint>

namespace tlsheap::recorder {

// From now on the library's time() returns `epoch` (0: the real clock).
void fix_library_time(std::int64_t epoch);

} // namespace tlsheap::recorder
