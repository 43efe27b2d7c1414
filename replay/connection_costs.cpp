#include "tlsheap/connection_costs.h"

#include "tlsheap/bare_model_replay.h"
#include "tlsheap/connection_subset.h"
#include "tlsheap/trace_walker.h"

#include <algorithm>

namespace tlsheap::replay {

using trace::Record;

void LiveByConnection::on_alloc(const Record&, const trace::LiveAllocation* block, std::uint32_t) {
    if (block != nullptr) {
        if (block->connection != trace::kSharedConnection && !first_seen_) {
            first_seen_ = true;
            costs_.shared_steady = own_live_.empty() ? 0 : own_live_[0];
        }
        change(block->connection, static_cast<std::int64_t>(block->size));
    }
}

void LiveByConnection::on_free(const Record&, trace::FreeKind kind,
                               const trace::LiveAllocation* block, std::uint32_t) {
    if (kind == trace::FreeKind::Known) {
        change(block->connection, -static_cast<std::int64_t>(block->size));
    }
}

ConnectionCosts LiveByConnection::finish(std::uint32_t connection_count) {
    grow(connection_count);
    costs_.connections = connection_count - 1;
    costs_.shared_peak = own_peak_[0];
    costs_.own_peak.assign(own_peak_.begin() + 1, own_peak_.end());
    costs_.prefixes.resize(prefix_peak_.size());
    for (std::uint32_t k = 0; k < prefix_peak_.size(); ++k) {
        costs_.prefixes[k].connections = k;
        costs_.prefixes[k].live_peak = prefix_peak_[k];
    }
    return std::move(costs_);
}

// Connections appear in order; a new prefix k starts as prefix k - 1, since
// up to now the two streams are the same.
void LiveByConnection::grow(std::uint32_t count) {
    while (own_live_.size() < count) {
        own_live_.push_back(0);
        own_peak_.push_back(0);
        prefix_live_.push_back(prefix_live_.empty() ? 0 : prefix_live_.back());
        prefix_peak_.push_back(prefix_peak_.empty() ? 0 : prefix_peak_.back());
    }
}

void LiveByConnection::change(std::uint32_t connection, std::int64_t bytes) {
    grow(connection + 1);
    const bool was_open = own_live_[connection] > 0;
    own_live_[connection] += static_cast<std::uint64_t>(bytes);
    own_peak_[connection] = std::max(own_peak_[connection], own_live_[connection]);
    if (connection != trace::kSharedConnection) {
        const bool open = own_live_[connection] > 0;
        if (open && !was_open) {
            ++open_;
            costs_.most_open = std::max(costs_.most_open, open_);
        } else if (!open && was_open) {
            --open_;
        }
    }
    for (std::size_t k = connection; k < prefix_live_.size(); ++k) {
        prefix_live_[k] += static_cast<std::uint64_t>(bytes);
        prefix_peak_[k] = std::max(prefix_peak_[k], prefix_live_[k]);
    }
}

ConnectionCosts count_live_by_connection(const SourceFactory& open) {
    trace::TraceWalker walker;
    LiveByConnection hooks;
    const std::unique_ptr<RecordSource> source = open();
    walker.walk(*source, hooks);
    return hooks.finish(walker.connection_count());
}

ConnectionCosts measure_connection_costs(ConnectionCosts costs, const AllocationStream& stream,
                                         const std::vector<ModelSpec>& models) {
    if (costs.most_open < 2) {
        return costs;
    }
    for (ConnectionPrefix& prefix : costs.prefixes) {
        if (prefix.connections > kMaxReplayedPrefixes) {
            break;
        }
        for (const ModelSpec& spec : models) {
            prefix.footprint.push_back(
                replay_bare_model(stream, spec, std::nullopt, prefix.connections).footprint);
        }
    }
    return costs;
}

ConnectionCosts measure_connection_costs(const SourceFactory& open,
                                         const std::vector<ModelSpec>& models) {
    ConnectionCosts costs = count_live_by_connection(open);
    if (costs.most_open < 2) {
        return costs;
    }
    ReplayOptions options;
    options.models = models;
    options.series_points = 1;
    for (ConnectionPrefix& prefix : costs.prefixes) {
        if (prefix.connections > kMaxReplayedPrefixes) {
            break;
        }
        ConnectionSubsetSource subset(open(), prefix.connections);
        const ReplayResult result = replay_trace(subset, options);
        for (const ModelRun& m : result.models) {
            prefix.footprint.push_back(m.footprint);
        }
    }
    return costs;
}

std::int64_t marginal_live(const ConnectionCosts& costs, std::uint32_t k) {
    if (k == 0 || k >= costs.prefixes.size()) {
        return 0;
    }
    return static_cast<std::int64_t>(costs.prefixes[k].live_peak) -
           static_cast<std::int64_t>(costs.prefixes[k - 1].live_peak);
}

std::int64_t marginal_footprint(const ConnectionCosts& costs, std::uint32_t k, std::size_t model) {
    if (k == 0 || k >= costs.prefixes.size() || model >= costs.prefixes[k].footprint.size() ||
        model >= costs.prefixes[k - 1].footprint.size()) {
        return 0;
    }
    return static_cast<std::int64_t>(costs.prefixes[k].footprint[model]) -
           static_cast<std::int64_t>(costs.prefixes[k - 1].footprint[model]);
}

} // namespace tlsheap::replay
