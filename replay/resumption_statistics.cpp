#include "resumption_statistics.h"

#include "tlsheap/trace_meta.h"

#include <algorithm>
#include <string_view>

namespace tlsheap::replay {

using trace::HandshakeKind;
using trace::Phase;
using trace::Tag;

const HandshakeFigures* ResumptionFigures::first(HandshakeKind kind) const {
    for (const HandshakeFigures& h : handshakes) {
        if (h.kind == kind && h.complete) {
            return &h;
        }
    }
    return nullptr;
}

ResumptionStatistics::Connection& ResumptionStatistics::current() {
    const std::uint32_t c = walker_.connection();
    if (connections_.size() <= c) {
        connections_.resize(c + 1);
    }
    Connection& entry = connections_[c];
    entry.figures.connection = c;
    return entry;
}

bool ResumptionStatistics::in_handshake() const {
    return walker_.connection() != trace::kSharedConnection && walker_.phase() == Phase::Handshake;
}

const ResumptionStatistics::StackFacts& ResumptionStatistics::facts_of(std::uint32_t stack) {
    auto& recent = recent_stacks_[stack % recent_stacks_.size()];
    if (recent.second != nullptr && recent.first == stack) {
        return *recent.second;
    }
    auto it = stacks_.find(stack);
    if (it != stacks_.end()) {
        recent = {stack, &it->second};
        return it->second;
    }
    StackFacts facts;
    std::string label = walker_.info().call_site(stack).label();
    const auto [known, added] =
        label_ids_.emplace(std::move(label), static_cast<std::uint32_t>(labels_.size()));
    if (added) {
        labels_.push_back(&known->first); // a map's keys stay where they are
        recent_sites_.emplace_back();
    }
    facts.label = known->second;
    facts.parses_chain = walker_.info().any_function(stack, [](std::string_view f) {
        return f.rfind("mbedtls_x509_crt_parse", 0) == 0 || f.rfind("x509_crt_parse", 0) == 0 ||
               f.find("ssl_parse_certificate_chain") != std::string_view::npos;
    });
    const StackFacts& kept = stacks_.emplace(stack, facts).first->second;
    recent = {stack, &kept};
    return kept;
}

ResumptionStatistics::SiteTally&
ResumptionStatistics::site_of(Connection& c, std::uint32_t connection, std::uint32_t label) {
    RecentSite& recent = recent_sites_[label];
    if (recent.tally == nullptr || recent.connection != connection) {
        recent = {connection, &c.sites[label]};
    }
    return *recent.tally;
}

void ResumptionStatistics::on_phase() {
    if (!in_handshake()) {
        return;
    }
    Connection& c = current();
    if (!c.seen) {
        // What the connection holds from SETUP counts toward its peak.
        c.seen = true;
        c.figures.peak_connection = walker_.live_bytes_of(walker_.connection());
        c.figures.peak_heap = walker_.live_bytes();
    }
}

void ResumptionStatistics::on_alloc(const trace::LiveAllocation* block) {
    if (block == nullptr || !in_handshake()) {
        return;
    }
    Connection& c = current();
    HandshakeFigures& f = c.figures;
    ++f.allocs;
    f.bytes_allocated += block->size;
    f.peak_connection = std::max(f.peak_connection, walker_.live_bytes_of(walker_.connection()));
    f.peak_heap = std::max(f.peak_heap, walker_.live_bytes());
    const StackFacts& facts = facts_of(block->stack);
    if (facts.parses_chain) {
        f.chain_parse_bytes += block->size;
    }
    SiteTally& site = site_of(c, walker_.connection(), facts.label);
    if (site.blocks == 0) {
        site.stack = block->stack;
    }
    site.bytes += block->size;
    ++site.blocks;
}

void ResumptionStatistics::on_context(const trace::Record& r) {
    if (walker_.connection() == trace::kSharedConnection) {
        return;
    }
    if (r.tag == Tag::Outcome) {
        HandshakeFigures& f = current().figures;
        if (r.outcome == trace::OutcomeKind::Handshake) {
            f.complete = true;
        }
        f.kind = walker_.handshake_kind_of(walker_.connection());
        f.early_data = walker_.early_data_of(walker_.connection());
        return;
    }
    if (!in_handshake()) {
        return;
    }
    if (r.tag == Tag::StepBegin) {
        ++current().figures.steps;
    } else if (r.tag == Tag::TlsRecord && r.direction == trace::Direction::In) {
        HandshakeFigures& f = current().figures;
        ++f.records_in;
        f.bytes_in += r.length;
    }
}

std::optional<ResumptionFigures> ResumptionStatistics::finish() {
    ResumptionFigures out;
    bool any = false;
    for (const Connection& c : connections_) {
        if (c.seen) {
            out.handshakes.push_back(c.figures);
            any = any || c.figures.kind != HandshakeKind::Full;
        }
    }
    if (!any) {
        return std::nullopt;
    }
    out.mode = walker_.info().meta(trace::meta::kLifecycleResume);
    const Connection* full = nullptr;
    for (const Connection& c : connections_) {
        if (c.seen && c.figures.complete && c.figures.kind != HandshakeKind::Resumed) {
            full = &c;
            break;
        }
    }
    if (full != nullptr) {
        for (const auto& [label, tally] : full->sites) {
            const bool used = std::any_of(
                connections_.begin(), connections_.end(), [&label = label](const Connection& c) {
                    return c.figures.kind == HandshakeKind::Resumed && c.used(label);
                });
            if (!used) {
                out.not_in_resumed.push_back(
                    {*labels_[label], tally.stack, tally.bytes, tally.blocks});
            }
        }
        // By label first, so that sites of equal bytes keep one order.
        std::sort(out.not_in_resumed.begin(), out.not_in_resumed.end(),
                  [](const SiteBytes& a, const SiteBytes& b) { return a.site < b.site; });
        std::stable_sort(out.not_in_resumed.begin(), out.not_in_resumed.end(),
                         [](const SiteBytes& a, const SiteBytes& b) { return a.bytes > b.bytes; });
    }
    return out;
}

} // namespace tlsheap::replay
