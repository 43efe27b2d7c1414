// The HTML report: one self-contained page (its style and script built into
// tlsheap, the data inline) that draws a profile's heap over time with the
// handshake states behind it, flame graphs of the bytes alive at the live
// peak and allocated per state, and the profile's tables; for `compare` a
// timeline per buffer scheme on one axis, for a sweep its matrix.
#pragma once

#include "tlsheap/min_pool.h"
#include "tlsheap/replay_engine.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::report {

// Points of the page's timeline: each is the highest live bytes of its
// events, so that no peak is lost however long the trace.
inline constexpr unsigned kHtmlSeriesPoints = 2000;

// One profile on the page, from its trace: `profile` is the profile document
// (profile_json) of a replay of `open`, which is read again here for the
// timeline, the bands and the flame graphs, through `models`.
nlohmann::json html_trace_view(const std::string& name, nlohmann::json profile,
                               const replay::SourceFactory& open,
                               const std::vector<replay::ModelSpec>& models,
                               std::optional<std::uint64_t> heap_size);

// One profile from its document alone (`tlsheap report PROFILE.json`): its
// series, tables and the call sites alive at the peak; no bands or records,
// which only the trace holds.
nlohmann::json html_document_view(const std::string& name, nlohmann::json profile);

// The page. `kind`: "profile" (views side by side: ABIs, or one), "compare"
// (views share the event axis) or "sweep" (`sweep` is the sweep document).
std::string html_page(const std::string& title, const std::string& kind,
                      const nlohmann::json& views, const nlohmann::json& sweep = nullptr);

} // namespace tlsheap::report
