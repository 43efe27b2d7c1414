#include "report/resumption_report.h"

#include "tlsheap/number_format.h"

#include <algorithm>
#include <cstdint>
#include <fmt/format.h>

namespace tlsheap::report {

using replay::HandshakeFigures;
using trace::HandshakeKind;

namespace {

const char* kind_name(HandshakeKind kind) {
    switch (kind) {
    case HandshakeKind::Resumed:
        return "resumed";
    case HandshakeKind::NotResumed:
        return "not_resumed";
    case HandshakeKind::Full:
        break;
    }
    return "full";
}

const char* early_data_name(trace::EarlyDataStatus status) {
    switch (status) {
    case trace::EarlyDataStatus::Accepted:
        return "accepted";
    case trace::EarlyDataStatus::Rejected:
        return "rejected";
    case trace::EarlyDataStatus::NotOffered:
        break;
    }
    return "not_offered";
}

} // namespace

nlohmann::json resumption_json(const replay::ResumptionFigures& figures) {
    using nlohmann::json;
    json handshakes = json::array();
    for (const HandshakeFigures& h : figures.handshakes) {
        handshakes.push_back(
            {{"connection", h.connection},
             {"kind", kind_name(h.kind)},
             {"complete", h.complete},
             {"peak_connection", h.peak_connection},
             {"peak_heap", h.peak_heap},
             {"allocations", h.allocs},
             {"bytes_allocated", h.bytes_allocated},
             {"steps", h.steps},
             {"records_received", h.records_in},
             {"bytes_received", h.bytes_in},
             {"chain_parse_bytes", h.chain_parse_bytes},
             {"early_data", h.early_data ? json(early_data_name(*h.early_data)) : json(nullptr)}});
    }
    json absent = json::array();
    for (const replay::SiteBytes& s : figures.not_in_resumed) {
        absent.push_back({{"call_site", s.site}, {"bytes", s.bytes}, {"blocks", s.blocks}});
    }
    auto first = [&](HandshakeKind kind) {
        const HandshakeFigures* h = figures.first(kind);
        return h == nullptr ? json(nullptr) : json(h->connection);
    };
    return {{"mode", figures.mode},
            {"first_full", first(HandshakeKind::Full)},
            {"first_resumed", first(HandshakeKind::Resumed)},
            {"handshakes", handshakes},
            {"not_in_resumed", absent}};
}

void print_resumption(const replay::ResumptionFigures& figures, std::size_t top_sites,
                      const std::function<void(const std::string&)>& line) {
    std::size_t counts[3] = {0, 0, 0};
    const HandshakeFigures* highest_resumed = nullptr;
    for (const HandshakeFigures& h : figures.handshakes) {
        if (!h.complete) {
            continue;
        }
        ++counts[static_cast<unsigned>(h.kind)];
        if (h.kind == HandshakeKind::Resumed &&
            (highest_resumed == nullptr || h.peak_connection > highest_resumed->peak_connection)) {
            highest_resumed = &h;
        }
    }
    line(fmt::format("Full vs resumed handshakes (resume {}): {} full, {} resumed, {} offered a "
                     "session and got a full handshake",
                     figures.mode.empty() ? "?" : figures.mode,
                     counts[static_cast<unsigned>(HandshakeKind::Full)],
                     counts[static_cast<unsigned>(HandshakeKind::Resumed)],
                     counts[static_cast<unsigned>(HandshakeKind::NotResumed)]));
    std::size_t early[4] = {0, 0, 0, 0}; // by EarlyDataStatus
    for (const HandshakeFigures& h : figures.handshakes) {
        if (h.early_data) {
            ++early[static_cast<unsigned>(*h.early_data)];
        }
    }
    if (early[1] + early[2] + early[3] > 0) {
        using trace::EarlyDataStatus;
        line(fmt::format("  0-RTT early data (the request): accepted on {}, rejected on {} (sent "
                         "again after the handshake), not allowed by the session on {}",
                         early[static_cast<unsigned>(EarlyDataStatus::Accepted)],
                         early[static_cast<unsigned>(EarlyDataStatus::Rejected)],
                         early[static_cast<unsigned>(EarlyDataStatus::NotOffered)]));
    }
    const HandshakeFigures* full = figures.first(HandshakeKind::Full);
    if (full == nullptr) {
        full = figures.first(HandshakeKind::NotResumed);
    }
    const HandshakeFigures* resumed = figures.first(HandshakeKind::Resumed);
    if (full == nullptr || resumed == nullptr) {
        line("  (no completed handshake of both kinds to compare)");
        line("");
        return;
    }
    line(fmt::format("  {:<34} {:>14} {:>16} {:>12}", "HANDSHAKE phase",
                     fmt::format("full (conn {})", full->connection),
                     fmt::format("resumed (conn {})", resumed->connection), "difference"));
    auto row = [&](const char* what, std::uint64_t a, std::uint64_t b) {
        line(fmt::format(
            "  {:<34} {:>14} {:>16} {:>12}", what, grouped(a), grouped(b),
            signed_grouped(static_cast<std::int64_t>(b) - static_cast<std::int64_t>(a))));
    };
    row("peak, the connection's bytes", full->peak_connection, resumed->peak_connection);
    row("peak, whole heap", full->peak_heap, resumed->peak_heap);
    row("bytes allocated", full->bytes_allocated, resumed->bytes_allocated);
    row("allocations", full->allocs, resumed->allocs);
    row("steps", full->steps, resumed->steps);
    row("TLS records received", full->records_in, resumed->records_in);
    row("bytes received", full->bytes_in, resumed->bytes_in);
    row("certificate chain parsing, bytes", full->chain_parse_bytes, resumed->chain_parse_bytes);
    if (highest_resumed != nullptr && highest_resumed != resumed) {
        line(fmt::format("  highest resumed handshake peak: {} bytes (connection {})",
                         grouped(highest_resumed->peak_connection), highest_resumed->connection));
    }
    line(fmt::format("  Not allocated by any resumed handshake: {} call sites of the full one "
                     "(top {}, by its bytes)",
                     figures.not_in_resumed.size(),
                     std::min(top_sites, figures.not_in_resumed.size())));
    for (std::size_t i = 0; i < figures.not_in_resumed.size() && i < top_sites; ++i) {
        const replay::SiteBytes& s = figures.not_in_resumed[i];
        line(fmt::format("  {:>10} {:>7}  {}", grouped(s.bytes), grouped(s.blocks), s.site));
    }
    line("");
}

} // namespace tlsheap::report
