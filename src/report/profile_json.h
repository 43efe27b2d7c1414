// The heap profile of one recording as a JSON document, for programs
// (schema-versioned; docs/json-schema/profile.schema.json).
#pragma once

#include "report/report_options.h"
#include "report/run_description.h"
#include "tlsheap/profile_document.h"
#include "tlsheap/replay_engine.h"

#include <nlohmann/json.hpp>

namespace tlsheap::report {

nlohmann::json profile_json(const RunDescription& run, const replay::ReplayResult& result,
                            const ReportOptions& options = {});

} // namespace tlsheap::report
