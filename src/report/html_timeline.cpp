#include "report/html_timeline.h"

#include "analysis/handshake_needs.h"
#include "report/record_flag_names.h"
#include "report/stack_levels.h"

#include <fmt/format.h>

namespace tlsheap::report {

using nlohmann::json;

namespace {

std::string level_label(const StackLevel& level) {
    if (!level.symbolized || level.file.empty()) {
        return level.function;
    }
    return fmt::format("{} ({}:{})", level.function, level.file, level.line);
}

} // namespace

std::uint32_t FlameStacks::frame_index(const std::string& label) {
    const auto [it, added] = index_.try_emplace(label, static_cast<std::uint32_t>(labels_.size()));
    if (added) {
        labels_.push_back(label);
    }
    return it->second;
}

const std::vector<std::uint32_t>& FlameStacks::frames_of(std::uint32_t stack) {
    const auto known = stack_frames_.find(stack);
    if (known != stack_frames_.end()) {
        return known->second;
    }
    std::vector<std::uint32_t> frames;
    const std::vector<StackLevel> levels = call_site_levels(info_, stack);
    if (levels.empty()) {
        frames.push_back(frame_index("[unknown]"));
    }
    for (auto level = levels.rbegin(); level != levels.rend(); ++level) {
        frames.push_back(frame_index(level_label(*level)));
    }
    return stack_frames_.emplace(stack, std::move(frames)).first->second;
}

void FlameStacks::add(const std::vector<std::string>& prefix, std::uint32_t stack,
                      std::uint64_t bytes) {
    if (bytes == 0) {
        return;
    }
    std::vector<std::uint32_t> path;
    for (const std::string& label : prefix) {
        path.push_back(frame_index(label));
    }
    const std::vector<std::uint32_t>& frames = frames_of(stack);
    path.insert(path.end(), frames.begin(), frames.end());
    // A hostile trace's sizes may add past 2^64: the flame graph saturates.
    std::uint64_t& total = bytes_[path];
    if (__builtin_add_overflow(total, bytes, &total)) {
        total = UINT64_MAX;
    }
}

json FlameStacks::json() const {
    nlohmann::json stacks = nlohmann::json::array();
    for (const auto& [path, bytes] : bytes_) {
        nlohmann::json row = nlohmann::json::array({bytes});
        for (const std::uint32_t frame : path) {
            row.push_back(frame);
        }
        stacks.push_back(std::move(row));
    }
    return {{"frames", labels_}, {"stacks", std::move(stacks)}};
}

HtmlTimelineCollector::HtmlTimelineCollector(const trace::TraceWalker& walker,
                                             const std::vector<replay::SeriesPoint>& series)
    : walker_(walker), series_(series), allocated_(walker.info()) {}

std::string HtmlTimelineCollector::band_name() const {
    // mbedTLS's first state is 0 (HELLO_REQUEST): in the handshake, the state.
    return walker_.phase() == trace::Phase::Handshake ? walker_.info().state_name(walker_.state())
                                                      : trace::phase_name(walker_.phase());
}

void HtmlTimelineCollector::add_band(std::uint32_t connection, const Band& band,
                                     std::uint64_t end) {
    if (bands_.size() >= kMostMarks) {
        ++bands_left_out_;
        return;
    }
    bands_.push_back({connection, band.name, band.handshake, band.begin, end});
}

void HtmlTimelineCollector::follow_state() {
    const std::uint32_t connection = walker_.connection();
    const std::string name = band_name();
    const bool handshake = walker_.phase() == trace::Phase::Handshake;
    auto [band, added] = open_.try_emplace(connection);
    if (!added) {
        if (band->second.name == name) {
            return;
        }
        // A state the handshake passed through without an event still gets
        // its band, of no width on the page's event axis.
        add_band(connection, band->second, last_seq_);
    }
    band->second = {name, handshake, last_seq_};
}

std::uint32_t HtmlTimelineCollector::site_index(const std::string& site) {
    const auto [it, added] =
        site_index_.try_emplace(site, static_cast<std::uint32_t>(sites_.size()));
    if (added) {
        sites_.push_back(site);
    }
    return it->second;
}

void HtmlTimelineCollector::describe_point(const trace::Record& r, const char* what,
                                           std::uint64_t bytes, const std::string& site) {
    last_seq_ = r.seq;
    last_event_[walker_.connection()] = r.seq;
    while (next_point_ < series_.size() && series_[next_point_].seq < r.seq) {
        ++next_point_;
    }
    if (next_point_ < series_.size() && series_[next_point_].seq == r.seq) {
        events_.push_back({r.seq, what, bytes, site_index(site)});
    }
}

void HtmlTimelineCollector::on_alloc(const trace::Record& r, const trace::LiveAllocation* block,
                                     std::uint32_t /*slot*/) {
    follow_state();
    const std::string site = walker_.info().call_site(r.stack).label();
    std::uint64_t bytes = 0;
    const bool overflow = __builtin_mul_overflow(r.count, r.size, &bytes);
    if (overflow) {
        bytes = UINT64_MAX;
    }
    describe_point(r, block != nullptr ? "alloc" : "failed alloc", bytes, site);
    if (block == nullptr) {
        if (failed_.size() < kMostMarks) {
            failed_.push_back({r.seq, bytes, site});
        } else {
            ++failed_left_out_;
        }
        return;
    }
    allocated_.add({band_name()}, block->stack, block->size);
}

void HtmlTimelineCollector::on_free(const trace::Record& r, trace::FreeKind /*kind*/,
                                    const trace::LiveAllocation* block, std::uint32_t /*slot*/) {
    follow_state();
    describe_point(r, "free", block != nullptr ? block->size : 0,
                   block != nullptr ? walker_.info().call_site(block->stack).label()
                                    : std::string());
}

void HtmlTimelineCollector::on_phase(const trace::Record& /*r*/, trace::Phase /*previous*/) {
    follow_state();
}

void HtmlTimelineCollector::on_connection(const trace::Record& /*r*/, std::uint32_t /*previous*/) {
    follow_state();
}

void HtmlTimelineCollector::on_context(const trace::Record& r) {
    follow_state();
    if (r.tag != trace::Tag::TlsRecord) {
        return;
    }
    if (records_.size() >= kMostMarks) {
        ++records_left_out_;
        return;
    }
    json messages = json::array();
    for (const std::uint8_t type : r.hs_types) {
        messages.push_back(analysis::handshake_type_name(type));
    }
    json mark = json::array({last_seq_, walker_.connection(),
                             r.direction == trace::Direction::In ? "in" : "out", r.content_type,
                             r.length, std::move(messages)});
    if ((r.flags & trace::kRecordDatagram) != 0) {
        // DTLS: epoch, sequence number and flags (retransmission, dropped, ...).
        mark.push_back(
            {{"epoch", r.epoch}, {"sequence", r.sequence}, {"flags", record_flag_names(r.flags)}});
    }
    records_.push_back(std::move(mark));
}

json HtmlTimelineCollector::finish() {
    for (const auto& [connection, band] : open_) {
        std::uint64_t end = last_seq_;
        if (band.name == trace::phase_name(trace::Phase::Teardown)) {
            end = std::max(band.begin, last_event_[connection]);
        }
        add_band(connection, band, end);
    }
    open_.clear();
    return {{"bands", bands_},
            {"records", records_},
            {"failed", failed_},
            {"events", events_},
            {"sites", sites_},
            {"connection_records", walker_.connection_records()},
            {"left_out",
             {{"bands", bands_left_out_},
              {"records", records_left_out_},
              {"failed", failed_left_out_}}},
            {"allocated_by_state", allocated_.json()}};
}

} // namespace tlsheap::report
