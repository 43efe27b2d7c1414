// What the HTML report draws over time that the replay's series does not
// hold: the bands of each connection's handshake states and phases, the TLS
// records, the failed allocations, the event behind each series point (for
// hovering), and the bytes allocated per state by call stack (a flame graph).
// A walker client, so it reads a trace as every other stage does.
#pragma once

#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_walker.h"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tlsheap::report {

// Call stacks as the page's flame graphs read them: a table of frame labels,
// and each stack as its bytes then its frames' indices, outermost first.
class FlameStacks {
  public:
    explicit FlameStacks(const trace::TraceInfo& info) : info_(info) {}
    // Adds `bytes` under `prefix` (labels put above the stack's frames,
    // such as a state's name) then the frames of `stack`.
    void add(const std::vector<std::string>& prefix, std::uint32_t stack, std::uint64_t bytes);
    nlohmann::json json() const;

  private:
    std::uint32_t frame_index(const std::string& label);
    const std::vector<std::uint32_t>& frames_of(std::uint32_t stack);

    const trace::TraceInfo& info_;
    std::vector<std::string> labels_;
    std::map<std::string, std::uint32_t> index_;
    std::map<std::uint32_t, std::vector<std::uint32_t>> stack_frames_;
    std::map<std::vector<std::uint32_t>, std::uint64_t> bytes_;
};

class HtmlTimelineCollector final : public trace::WalkerHooks {
  public:
    // Bands, TLS records and failed allocations the page holds at most, each.
    static constexpr std::size_t kMostMarks = 100000;

    // `series`: the replay's points, whose events are described for hovering.
    HtmlTimelineCollector(const trace::TraceWalker& walker,
                          const std::vector<replay::SeriesPoint>& series);

    void on_alloc(const trace::Record& r, const trace::LiveAllocation* block,
                  std::uint32_t slot) override;
    void on_free(const trace::Record& r, trace::FreeKind kind, const trace::LiveAllocation* block,
                 std::uint32_t slot) override;
    void on_phase(const trace::Record& r, trace::Phase previous) override;
    void on_connection(const trace::Record& r, std::uint32_t previous) override;
    void on_context(const trace::Record& r) override;

    // Closes the open bands at the last event. {bands, records, failed,
    // events, sites, allocated_by_state}.
    nlohmann::json finish();

  private:
    struct Band {
        std::string name;
        bool handshake = false;
        std::uint64_t begin = 0; // the band starts after this event
    };

    void follow_state();
    void add_band(std::uint32_t connection, const Band& band, std::uint64_t end);
    void describe_point(const trace::Record& r, const char* what, std::uint64_t bytes,
                        const std::string& site);
    std::uint32_t site_index(const std::string& site);
    std::string band_name() const;

    const trace::TraceWalker& walker_;
    const std::vector<replay::SeriesPoint>& series_;
    std::size_t next_point_ = 0;
    std::uint64_t last_seq_ = 0;
    std::map<std::uint32_t, Band> open_; // by connection
    // Each connection's last allocation or free: a connection torn down
    // ends there, not at the end of the trace.
    std::map<std::uint32_t, std::uint64_t> last_event_;
    // A trace may come from someone else: what the page holds over time is
    // bounded (kMostMarks each), and what was left out is counted.
    nlohmann::json bands_ = nlohmann::json::array();
    std::uint64_t bands_left_out_ = 0;
    std::uint64_t records_left_out_ = 0;
    std::uint64_t failed_left_out_ = 0;
    nlohmann::json records_ = nlohmann::json::array();
    nlohmann::json failed_ = nlohmann::json::array();
    // [seq, what, bytes, site]: the event at each series point, its call
    // site an index into sites_.
    nlohmann::json events_ = nlohmann::json::array();
    std::vector<std::string> sites_;
    std::map<std::string, std::uint32_t> site_index_;
    FlameStacks allocated_;
};

} // namespace tlsheap::report
