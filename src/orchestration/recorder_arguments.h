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

// The recorder's lifecycle options (--connections, --start, --reconnects);
// none for one connection, so that such command lines stay as they were.
std::vector<std::string> lifecycle_arguments(const lifecycle::Lifecycle& l);

// x.pem -> x.der when `der` (and the .der exists), else unchanged.
std::string credential_file(const std::filesystem::path& pem, bool der);

} // namespace tlsheap::record
