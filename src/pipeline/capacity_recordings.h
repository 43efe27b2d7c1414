// `tlsheap capacity --scenario`: records the scenario with the numbers of
// concurrent connections CapacitySearch picks (ProfileSession) and replays
// each recording on the heap, until every model is answered or the
// recorder's bound on connections is reached.
#pragma once

#include "analysis/connection_capacity.h"
#include "pipeline/profile_session.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tlsheap::pipeline {

struct CapacityRecordings {
    analysis::CapacityResult capacity;
    // The last recording made (its run description names the variant).
    VariantProfile last;
    lifecycle::Start start = lifecycle::Start::Together;
};

// `settings.run.connections` is set for each recording; the start mode is
// the one settings and scenario say. `app_heap` (--app-heap, checked): the
// application's blocks replayed with each recording. Throws UserError.
CapacityRecordings capacity_of_scenario(ProfileSession& session, const VariantRequest& variant,
                                        RecordSettings settings, const record::Scenario& scenario,
                                        const std::vector<replay::ModelSpec>& models,
                                        std::uint64_t heap, const std::string& app_heap);

} // namespace tlsheap::pipeline
