// The connections one recording opens (docs/scenarios.md, "lifecycle"):
// how many at once, how they start, and how many times in a row. Shared by
// the recorder, which drives them, and the host, which reads them from a
// scenario or the command line. Header-only and standard C++ only, because
// the recorder is compiled with every mbedTLS variant.
#pragma once

#include <optional>
#include <string_view>

namespace tlsheap::lifecycle {

enum class Start {
    Together,  // every handshake interleaved step by step, in a fixed order
    Staggered, // one after the other; earlier ones stay open and idle
};

inline constexpr const char* start_name(Start start) {
    return start == Start::Together ? "together" : "staggered";
}

inline constexpr std::optional<Start> start_from_name(std::string_view name) {
    if (name == start_name(Start::Together)) {
        return Start::Together;
    }
    if (name == start_name(Start::Staggered)) {
        return Start::Staggered;
    }
    return std::nullopt;
}

// Bounds a recording accepts: concurrent connections per cycle, and cycles.
inline constexpr unsigned kMaxConnections = 256;
inline constexpr unsigned kMaxReconnects = 100000;

// connections N, start, reconnects K: K cycles one after the other, each
// opening N connections that close and are freed before the next cycle.
struct Lifecycle {
    unsigned connections = 1;
    Start start = Start::Together;
    unsigned reconnects = 1;

    bool single() const { return connections == 1 && reconnects == 1; }
};

} // namespace tlsheap::lifecycle
