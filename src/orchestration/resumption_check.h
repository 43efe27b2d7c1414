// Whether a scenario's lifecycle can resume sessions as it asks
// (docs/scenarios.md, "resume"): checked before anything is built or run.
#pragma once

#include "orchestration/scenario.h"
#include "tlsheap/connection_lifecycle.h"

#include <string>

namespace tlsheap::record {

// What is wrong with resuming as `l` says, for `scenario` against `peer`
// (mbedtls, openssl or external), in one line; "" when nothing is.
std::string resumption_problem(const Scenario& scenario, const lifecycle::Lifecycle& l,
                               const std::string& peer);

} // namespace tlsheap::record
