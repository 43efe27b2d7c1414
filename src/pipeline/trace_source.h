#pragma once

#include "tlsheap/min_pool.h"

#include <string>

namespace tlsheap::pipeline {

// Opens a trace, through a buffer-scheme transform when `transform` is not
// empty ("esp-dynamic:free_ca_cert=off"). The spec is checked right away
// (UserError, exit 2); a transform that cannot apply to this trace throws
// replay::TransformError when the stream is read.
replay::SourceFactory trace_source(const std::string& path, const std::string& transform);

} // namespace tlsheap::pipeline
