#include "report/chrome_trace.h"

#include "analysis/handshake_needs.h"
#include "report/json_text.h"
#include "report/record_flag_names.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/trace_meta.h"

#include <fmt/format.h>

namespace tlsheap::report {

namespace {

using nlohmann::json;

constexpr int kPid = 1;

// Trace Event times are microseconds; a fraction keeps the nanoseconds.
double microseconds(std::uint64_t ns) {
    return static_cast<double>(ns) / 1000.0;
}

std::string track_name(std::uint32_t connection, bool connection_records) {
    if (connection == trace::kSharedConnection) {
        return connection_records ? "shared (config, certificates)" : "set-up";
    }
    return connection_records ? fmt::format("connection {}", connection) : "connection";
}

} // namespace

ChromeTraceWriter::ChromeTraceWriter(std::ostream& out, const trace::TraceWalker& walker,
                                     const replay::ReplayResult& models)
    : out_(out), walker_(walker), models_(models) {
    const std::string scenario = models.info.meta(trace::meta::kScenarioName);
    out_ << "{\"displayTimeUnit\":\"ns\",\"otherData\":"
         << json_text({{"tool", "tlsheap"}, {"scenario", scenario}}) << ",\"traceEvents\":[";
    emit({{"ph", "M"},
          {"pid", kPid},
          {"name", "process_name"},
          {"args", {{"name", scenario.empty() ? "tlsheap" : "tlsheap " + scenario}}}});
}

void ChromeTraceWriter::emit(const json& event) {
    out_ << (first_ ? "\n" : ",\n") << json_text(event);
    first_ = false;
}

json ChromeTraceWriter::instant(const std::string& name, json args) const {
    return {{"ph", "i"},
            {"s", "t"},
            {"pid", kPid},
            {"tid", walker_.connection()},
            {"name", name},
            {"ts", microseconds(now_ns_)},
            {"args", std::move(args)}};
}

void ChromeTraceWriter::close(std::uint32_t connection, Slice& slice) {
    emit({{"ph", "X"},
          {"pid", kPid},
          {"tid", connection},
          {"name", slice.name},
          {"cat", "state"},
          {"ts", microseconds(slice.start_ns)},
          {"dur", microseconds(now_ns_ - slice.start_ns)},
          {"args",
           {{"allocations", slice.allocs},
            {"bytes allocated", slice.bytes_allocated},
            {"live peak", slice.peak}}}});
}

// The current connection's slice: its handshake state, or the phase outside
// the handshake.
void ChromeTraceWriter::follow_state() {
    const std::uint32_t connection = walker_.connection();
    const trace::Phase phase = walker_.phase();
    const std::uint32_t state = walker_.state();
    // mbedTLS's first state is 0 (HELLO_REQUEST): in the handshake, the state.
    const std::string name = phase == trace::Phase::Handshake ? walker_.info().state_name(state)
                                                              : trace::phase_name(phase);
    auto [slice, added] = open_.try_emplace(connection);
    if (added) {
        emit({{"ph", "M"},
              {"pid", kPid},
              {"tid", connection},
              {"name", "thread_name"},
              {"args", {{"name", track_name(connection, walker_.connection_records())}}}});
    } else if (slice->second.name == name) {
        return;
    } else {
        close(connection, slice->second);
    }
    slice->second = {name, now_ns_, 0, 0, walker_.live_bytes()};
}

// Every allocation and free: the clock, the live-bytes counter, and each
// model's footprint where the replay's series has a point.
void ChromeTraceWriter::event_at(const trace::Record& r) {
    now_ns_ = std::max(now_ns_, r.time_ns);
    follow_state();
    Slice& slice = open_[walker_.connection()];
    slice.peak = std::max(slice.peak, walker_.live_bytes());
    emit({{"ph", "C"},
          {"pid", kPid},
          {"name", "heap"},
          {"ts", microseconds(now_ns_)},
          {"args", {{"live bytes", walker_.live_bytes()}}}});
    const auto& series = models_.series;
    while (next_point_ < series.size() && series[next_point_].seq <= r.seq) {
        const replay::SeriesPoint& point = series[next_point_++];
        for (std::size_t m = 0; m < models_.models.size() && m < point.footprint.size(); ++m) {
            emit({{"ph", "C"},
                  {"pid", kPid},
                  {"name", "footprint " + models_.models[m].name},
                  {"ts", microseconds(now_ns_)},
                  {"args", {{"bytes", point.footprint[m]}}}});
        }
    }
}

void ChromeTraceWriter::on_alloc(const trace::Record& r, const trace::LiveAllocation* block,
                                 std::uint32_t /*slot*/) {
    event_at(r);
    Slice& slice = open_[walker_.connection()];
    ++slice.allocs;
    if (block != nullptr) {
        slice.bytes_allocated += block->size;
        return;
    }
    std::uint64_t bytes = 0;
    const bool overflow = __builtin_mul_overflow(r.count, r.size, &bytes);
    emit(instant("allocation failed", {{"bytes", overflow ? json("more than 2^64") : json(bytes)},
                                       {"call site", walker_.info().call_site(r.stack).label()}}));
}

void ChromeTraceWriter::on_free(const trace::Record& r, trace::FreeKind /*kind*/,
                                const trace::LiveAllocation* /*block*/, std::uint32_t /*slot*/) {
    event_at(r);
}

void ChromeTraceWriter::on_phase(const trace::Record& /*r*/, trace::Phase /*previous*/) {
    follow_state();
}

void ChromeTraceWriter::on_connection(const trace::Record& /*r*/, std::uint32_t /*previous*/) {
    follow_state();
}

void ChromeTraceWriter::on_context(const trace::Record& r) {
    follow_state();
    if (r.tag == trace::Tag::TlsRecord) {
        const char* direction = r.direction == trace::Direction::In ? "in" : "out";
        json messages = json::array();
        for (const std::uint8_t type : r.hs_types) {
            messages.push_back(analysis::handshake_type_name(type));
        }
        json args = {{"direction", direction},
                     {"content type", r.content_type},
                     {"length", r.length},
                     {"handshake messages", messages}};
        if ((r.flags & trace::kRecordDatagram) != 0) {
            // DTLS: which record it is, and whether it was sent again or dropped.
            args["epoch"] = r.epoch;
            args["sequence"] = r.sequence;
            args["flags"] = record_flag_names(r.flags);
        }
        emit(instant(
            fmt::format("{} {} {} B", direction, tls::content_type_name(r.content_type), r.length),
            args));
    } else if (r.tag == trace::Tag::Outcome) {
        emit(instant(
            r.ret == 0 ? "outcome: ok" : "outcome: failure",
            {{"state", walker_.info().state_name(r.state)}, {"ret", r.ret}, {"text", r.value}}));
    }
}

void ChromeTraceWriter::finish() {
    for (auto& [connection, slice] : open_) {
        close(connection, slice);
    }
    open_.clear();
    out_ << "\n]}\n";
}

} // namespace tlsheap::report
