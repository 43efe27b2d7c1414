#include "pipeline/capacity_recordings.h"

#include "pipeline/trace_source.h"
#include "tlsheap/connection_lifecycle.h"
#include "tlsheap/user_error.h"

#include <fmt/format.h>

namespace tlsheap::pipeline {

namespace {

// The recording's own status: a handshake that failed is no capacity answer.
void check_recorded(const VariantProfile& p, unsigned connections) {
    if (p.status != kExitOk) {
        throw UserError(fmt::format("recording {} connection{} failed: {}", connections,
                                    connections == 1 ? "" : "s", p.error),
                        p.status);
    }
}

} // namespace

CapacityRecordings capacity_of_scenario(ProfileSession& session, const VariantRequest& variant,
                                        RecordSettings settings, const record::Scenario& scenario,
                                        const std::vector<replay::ModelSpec>& models,
                                        std::uint64_t heap, const std::string& app_heap) {
    CapacityRecordings out;
    // Recording replays nothing: the replays that count are on the heap, below.
    settings.models.clear();
    settings.run.reconnects = 1;
    settings.run.connections = 1;
    out.start = effective_lifecycle(settings, scenario).start;
    const replay::ReplayOptions options = analysis::capacity_replay_options(models, heap);
    analysis::CapacitySearch search(heap, lifecycle::kMaxConnections);

    // The first recording builds the variant; the others reuse it.
    std::vector<VariantProfile> first = session.profile_variants(variant, settings, scenario);
    out.last = std::move(first.front());
    check_recorded(out.last, 1);
    while (const std::optional<std::uint32_t> k = search.next()) {
        if (*k > 1) {
            settings.run.connections = *k;
            session.record(settings, scenario, out.last);
            check_recorded(out.last, *k);
        }
        const std::unique_ptr<replay::RecordSource> recording =
            trace_source(out.last.run.trace_path, "", app_heap)();
        search.add(*k, replay::replay_trace(*recording, options));
    }
    out.capacity = search.result();
    return out;
}

} // namespace tlsheap::pipeline
