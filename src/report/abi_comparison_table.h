// Profiles of the same scenario on several ABIs, side by side in one
// terminal table.
#pragma once

#include "report/run_description.h"
#include "tlsheap/replay_engine.h"

#include <cstdio>
#include <vector>

namespace tlsheap::report {

// One ABI's profile of the same scenario.
struct AbiColumn {
    const RunDescription* run;
    const replay::ReplayResult* result;
};
void print_abi_comparison(std::FILE* out, const std::vector<AbiColumn>& columns);

} // namespace tlsheap::report
