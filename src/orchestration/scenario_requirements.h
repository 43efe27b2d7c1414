#pragma once

#include "orchestration/recorder_arguments.h"
#include "orchestration/scenario.h"
#include "variants/effective_config.h"

#include <string>

namespace tlsheap::record {

// The first macro the scenario needs from the recorded side that the
// effective config lacks ("MBEDTLS_ECDSA_C"), or "" when all are there.
// Checked before anything is compiled.
std::string missing_requirement(const Scenario& scenario, Side side, const build::MacroSet& macros);

} // namespace tlsheap::record
