// The heap profile of one recording as a terminal table, for people.
#pragma once

#include "report/report_options.h"
#include "report/run_description.h"
#include "tlsheap/replay_engine.h"

#include <cstdio>

namespace tlsheap::report {

void print_profile(std::FILE* out, const RunDescription& run, const replay::ReplayResult& result,
                   const ReportOptions& options = {});

} // namespace tlsheap::report
