#include "analysis/connection_capacity.h"

#include "tlsheap/connection_costs.h"
#include "tlsheap/connection_subset.h"

#include <algorithm>
#include <fmt/format.h>

namespace tlsheap::analysis {

void CapacitySearch::add(std::uint32_t connections, const replay::ReplayResult& replay) {
    if (models_.empty()) {
        for (const replay::ModelRun& m : replay.models) {
            models_.emplace_back(m.name, m.description);
        }
    }
    Tried t;
    t.step.connections = connections;
    t.step.live_peak = replay.live_peak.bytes;
    for (std::size_t i = 0; i < replay.models.size() && i < models_.size(); ++i) {
        const replay::ModelRun& run = replay.models[i];
        t.step.footprint.push_back(run.footprint);
        t.step.failures.push_back(run.failure_count);
        std::optional<CapacityFailure>& f = t.failure.emplace_back();
        if (run.failure_count == 0) {
            continue;
        }
        f.emplace();
        f->failure_count = run.failure_count;
        if (!run.failures.empty()) {
            const replay::ModelFailure& first = run.failures.front();
            f->seq = first.at.seq;
            f->size = first.size;
            f->connection = first.at.connection;
            f->phase = trace::phase_name(first.at.phase);
            f->state = replay.info.state_name(first.at.state);
            f->call_site = replay.info.call_site(first.at.stack).label();
        }
    }
    tried_[connections] = std::move(t);
}

std::pair<std::uint32_t, std::uint32_t> CapacitySearch::bounds(std::size_t model) const {
    std::uint32_t fits = 0;
    for (const auto& [k, t] : tried_) {
        if (model < t.failure.size() && t.failure[model]) {
            return {fits, k};
        }
        fits = k;
    }
    return {fits, 0};
}

std::optional<std::uint32_t> CapacitySearch::next() const {
    if (tried_.empty()) {
        return most_ >= 1 ? std::optional<std::uint32_t>(1) : std::nullopt;
    }
    const std::uint32_t largest = tried_.rbegin()->first;
    std::optional<std::uint32_t> bisect;
    bool extend = false;
    for (std::size_t i = 0; i < models_.size(); ++i) {
        const auto [fits, fails] = bounds(i);
        if (fails == 0) {
            extend = extend || largest < most_;
        } else if (fails > fits + 1) {
            const std::uint32_t middle = fits + (fails - fits) / 2;
            bisect = std::min(bisect.value_or(middle), middle);
        }
    }
    if (extend) {
        // Doubling first: the smallest stream that makes every model fail
        // bounds every bisection.
        return largest < kLinearUpTo ? largest + 1 : std::min(most_, largest * 2);
    }
    return bisect;
}

CapacityResult CapacitySearch::result() const {
    CapacityResult r;
    r.heap = heap_;
    for (const auto& [k, t] : tried_) {
        r.steps.push_back(t.step);
        r.most_tried = k;
    }
    for (std::size_t i = 0; i < models_.size(); ++i) {
        ModelCapacity m{models_[i].first, models_[i].second, 0, std::nullopt, std::nullopt};
        const auto [fits, fails] = bounds(i);
        m.capacity = fits;
        if (fits > 0) {
            m.footprint = tried_.at(fits).step.footprint[i];
        }
        if (fails != 0) {
            m.fails_next = tried_.at(fails).failure[i];
        }
        r.models.push_back(std::move(m));
    }
    return r;
}

replay::ReplayOptions capacity_replay_options(const std::vector<replay::ModelSpec>& models,
                                              std::uint64_t heap) {
    replay::ReplayOptions options;
    options.models = models;
    options.pool_size = heap;
    options.series_points = 1;
    return options;
}

CapacityResult capacity_of_trace(const replay::SourceFactory& open,
                                 const std::vector<replay::ModelSpec>& models, std::uint64_t heap) {
    // The costs' walk says how many connections there are and whether they
    // were open together; its replays through the models are not needed.
    const replay::ConnectionCosts costs = replay::measure_connection_costs(open, {});
    if (costs.connections < 2) {
        throw CapacityInputError(
            fmt::format("the trace has {} connection{}: capacity needs a recording of concurrent "
                        "connections (tlsheap profile --connections N) or --scenario",
                        costs.connections, costs.connections == 1 ? "" : "s"));
    }
    if (costs.most_open < costs.connections) {
        throw CapacityInputError(fmt::format(
            "the trace's {} connections were never all open together (at most {} at once, as "
            "in reconnects): capacity needs a recording of concurrent connections "
            "(tlsheap profile --connections N --start together|staggered)",
            costs.connections, costs.most_open));
    }
    const replay::ReplayOptions options = capacity_replay_options(models, heap);
    CapacitySearch search(heap, costs.connections);
    while (const std::optional<std::uint32_t> k = search.next()) {
        replay::ConnectionSubsetSource subset(open(), *k);
        search.add(*k, replay::replay_trace(subset, options));
    }
    return search.result();
}

} // namespace tlsheap::analysis
