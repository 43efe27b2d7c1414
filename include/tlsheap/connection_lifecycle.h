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

// How a connection after the first picks up the session of the first
// (docs/scenarios.md, "resume"): not at all, by the TLS 1.2 session ID the
// server keeps in its cache, or by a ticket the server gave it (RFC 5077 in
// TLS 1.2, NewSessionTicket and PSK resumption in TLS 1.3).
enum class Resume {
    None,
    SessionId,
    Ticket,
};

inline constexpr const char* resume_name(Resume resume) {
    switch (resume) {
    case Resume::SessionId:
        return "session-id";
    case Resume::Ticket:
        return "ticket";
    case Resume::None:
        break;
    }
    return "none";
}

inline constexpr std::optional<Resume> resume_from_name(std::string_view name) {
    for (Resume r : {Resume::None, Resume::SessionId, Resume::Ticket}) {
        if (name == resume_name(r)) {
            return r;
        }
    }
    return std::nullopt;
}

// Bounds a recording accepts: concurrent connections per cycle, and cycles.
inline constexpr unsigned kMaxConnections = 256;
inline constexpr unsigned kMaxReconnects = 100000;

// connections N, start, reconnects K: K cycles one after the other, each
// opening N connections that close and are freed before the next cycle.
// resume: whether every connection after the first offers the first one's
// session. early_data: whether a client resuming a TLS 1.3 ticket sends its
// request as 0-RTT early data (RFC 8446 2.3), as a device that reconnects to
// post a reading does.
struct Lifecycle {
    unsigned connections = 1;
    Start start = Start::Together;
    unsigned reconnects = 1;
    Resume resume = Resume::None;
    bool early_data = false;

    bool single() const { return connections == 1 && reconnects == 1; }
};

} // namespace tlsheap::lifecycle
