// A trace in Chrome's Trace Event Format (the JSON object form), for Perfetto
// UI and chrome://tracing: the live bytes as a counter at every allocation and
// free, each model's footprint as a counter, a slice per handshake state (and
// per phase around it) on a track per connection, and TLS records, failed
// allocations and outcomes as instant events. Written as the trace streams by.
//
// Times are the recording's, in microseconds. Only allocations and frees carry
// a time, so a slice starts and ends at the time of the last event before the
// record that changed the state.
#pragma once

#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_walker.h"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace tlsheap::report {

class ChromeTraceWriter final : public trace::WalkerHooks {
  public:
    // `models`: a replay of the same trace whose series gives each model's
    // footprint (the counters change at its points).
    ChromeTraceWriter(std::ostream& out, const trace::TraceWalker& walker,
                      const replay::ReplayResult& models);

    void on_alloc(const trace::Record& r, const trace::LiveAllocation* block,
                  std::uint32_t slot) override;
    void on_free(const trace::Record& r, trace::FreeKind kind, const trace::LiveAllocation* block,
                 std::uint32_t slot) override;
    void on_phase(const trace::Record& r, trace::Phase previous) override;
    void on_connection(const trace::Record& r, std::uint32_t previous) override;
    void on_context(const trace::Record& r) override;

    // Ends the open slices at the last event and closes the document.
    void finish();

  private:
    struct Slice {
        std::string name;
        std::uint64_t start_ns = 0;
        std::uint64_t allocs = 0;
        std::uint64_t bytes_allocated = 0;
        std::uint64_t peak = 0; // live bytes, highest inside the slice
    };

    void emit(const nlohmann::json& event);
    void event_at(const trace::Record& r);
    void follow_state();
    void close(std::uint32_t connection, Slice& slice);
    nlohmann::json instant(const std::string& name, nlohmann::json args) const;

    std::ostream& out_;
    const trace::TraceWalker& walker_;
    const replay::ReplayResult& models_;
    std::size_t next_point_ = 0;
    std::uint64_t now_ns_ = 0;
    bool first_ = true;
    std::map<std::uint32_t, Slice> open_; // by connection
};

} // namespace tlsheap::report
