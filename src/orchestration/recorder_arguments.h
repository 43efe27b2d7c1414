// Translates a scenario into the recorder's command line for one side of the
// connection (the recorder parses no JSON).
#pragma once

#include "orchestration/scenario.h"
#include "tlsheap/tls_wire.h"

#include <string>
#include <vector>

namespace tlsheap::record {

using Side = tls::Side;

// `der`: the variant cannot parse PEM; use the .der file next to each .pem.
std::vector<std::string> recorder_arguments(const Scenario& scenario, Side side, bool der);

// x.pem -> x.der when `der` (and the .der exists), else unchanged.
std::string credential_file(const std::filesystem::path& pem, bool der);

} // namespace tlsheap::record
