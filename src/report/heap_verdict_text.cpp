#include "report/heap_verdict_text.h"

#include "tlsheap/number_format.h"

#include <fmt/format.h>

namespace tlsheap::report {

namespace {

std::string connection_name(std::uint32_t connection) {
    return connection == trace::kSharedConnection ? std::string("shared")
                                                  : fmt::format("conn {}", connection);
}

std::string caller(const trace::TraceInfo& info, std::uint32_t stack) {
    if (stack == 0) {
        return "";
    }
    const trace::CallSite site = info.call_site(stack);
    return site.function.empty() ? site.label() : site.function;
}

// "largest free block 16,372 B", and what it serves when the API's figure
// counts a header (heap_4, umm) so that the request must be smaller.
std::string largest_block(const replay::HeapFigures& f) {
    std::string s = fmt::format("largest free block {} B", grouped(f.largest_free_block));
    if (f.largest_request != f.largest_free_block) {
        s += fmt::format(" (serves up to {} B)", grouped(f.largest_request));
    }
    return s;
}

// "conn 2, HANDSHAKE SERVER_CERTIFICATE"
std::string place_of(const trace::TraceInfo& info, const replay::Moment& at) {
    std::string place = connection_name(at.connection) + ", " + trace::phase_name(at.phase);
    if (at.phase == trace::Phase::Handshake) {
        place += " " + info.state_name(at.state);
    }
    return place;
}

} // namespace

std::string heap_moment_place(const trace::TraceInfo& info, const replay::Moment& at) {
    const std::string by = caller(info, at.stack);
    return by.empty() ? place_of(info, at) : place_of(info, at) + ", by " + by;
}

std::string heap_verdict_text(const trace::TraceInfo& info, const replay::HeapVerdict& verdict) {
    if (const auto& failure = verdict.first_failure) {
        const replay::HeapFigures& f = failure->figures;
        const std::string by = caller(info, failure->at.stack);
        std::string text =
            fmt::format("fails at allocation #{} (event {}): {} B requested{} ({}), "
                        "{} B free, {}",
                        grouped(failure->allocation), grouped(failure->at.seq),
                        grouped(failure->size), by.empty() ? "" : " by " + by,
                        place_of(info, failure->at), grouped(f.free_bytes), largest_block(f));
        if (verdict.fragmentation()) {
            text += ": fragmentation, enough bytes free but in no block large enough";
        }
        return text;
    }
    if (!verdict.lowest_free || !verdict.smallest_largest_free_block) {
        return "fits: nothing was allocated";
    }
    const replay::HeapMoment& low = *verdict.lowest_free;
    const replay::HeapMoment& small = *verdict.smallest_largest_free_block;
    if (low.allocation == small.allocation) {
        return fmt::format("fits: headroom {} B free, {}, both lowest after allocation #{} ({})",
                           grouped(low.figures.free_bytes), largest_block(low.figures),
                           grouped(low.allocation), heap_moment_place(info, low.at));
    }
    return fmt::format("fits: headroom {} B free at its lowest, after allocation #{} ({}); {} "
                       "at its smallest, after allocation #{} ({})",
                       grouped(low.figures.free_bytes), grouped(low.allocation),
                       heap_moment_place(info, low.at), largest_block(small.figures),
                       grouped(small.allocation), heap_moment_place(info, small.at));
}

} // namespace tlsheap::report
