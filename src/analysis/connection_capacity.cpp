#include "analysis/connection_capacity.h"

#include "tlsheap/connection_costs.h"
#include "tlsheap/connection_subset.h"

#include <algorithm>
#include <fmt/format.h>

namespace tlsheap::analysis {

bool CapacityResult::every_model_failed() const {
    return std::all_of(models.begin(), models.end(),
                       [](const ModelCapacity& m) { return m.fails_next.has_value(); });
}

void CapacitySearch::add(std::uint32_t connections, const replay::ReplayResult& replay) {
    if (result_.models.empty()) {
        for (const replay::ModelRun& m : replay.models) {
            result_.models.push_back({m.name, m.description, 0, std::nullopt, std::nullopt});
        }
    }
    CapacityStep step;
    step.connections = connections;
    step.live_peak = replay.live_peak.bytes;
    for (std::size_t i = 0; i < replay.models.size() && i < result_.models.size(); ++i) {
        const replay::ModelRun& run = replay.models[i];
        step.footprint.push_back(run.footprint);
        step.failures.push_back(run.failure_count);
        ModelCapacity& answer = result_.models[i];
        if (answer.fails_next) {
            continue; // answered by a smaller stream
        }
        if (run.failure_count == 0) {
            answer.capacity = connections;
            answer.footprint = run.footprint;
            continue;
        }
        CapacityFailure f;
        f.failure_count = run.failure_count;
        if (!run.failures.empty()) {
            const replay::ModelFailure& first = run.failures.front();
            f.seq = first.at.seq;
            f.size = first.size;
            f.connection = first.at.connection;
            f.phase = trace::phase_name(first.at.phase);
            f.state = replay.info.state_name(first.at.state);
            f.call_site = replay.info.call_site(first.at.stack).label();
        }
        answer.fails_next = f;
    }
    result_.steps.push_back(std::move(step));
    result_.most_tried = std::max(result_.most_tried, connections);
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
    CapacitySearch search(heap);
    for (std::uint32_t k = 1; k <= costs.connections && !search.done(); ++k) {
        replay::ConnectionSubsetSource subset(open(), k);
        search.add(k, replay::replay_trace(subset, options));
    }
    return search.result();
}

} // namespace tlsheap::analysis
