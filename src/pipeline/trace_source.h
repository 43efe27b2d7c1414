#pragma once

#include "tlsheap/min_pool.h"

#include <string>

namespace tlsheap::pipeline {

// Opens a trace, through a buffer-scheme transform when `transform` is not
// empty ("esp-dynamic:free_ca_cert=off"). The spec is checked right away
// (UserError, exit 2); a transform that cannot apply to this trace throws
// replay::TransformError when the stream is read.
replay::SourceFactory trace_source(const std::string& path, const std::string& transform);

// The same with the application's blocks of `app_heap` (app_heap.h) added
// over the (transformed) stream when it is not empty. Checked right away
// (UserError, exit 2).
replay::SourceFactory trace_source(const std::string& path, const std::string& transform,
                                   const std::string& app_heap);
// Throws UserError (exit 2) for a spec that does not parse ("" is none).
void check_app_heap(const std::string& app_heap);
// `open`'s streams with the application's blocks added ("" : `open` itself).
replay::SourceFactory with_app_heap(replay::SourceFactory open, const std::string& app_heap);

} // namespace tlsheap::pipeline
