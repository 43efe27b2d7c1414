// Checks that a record stream is a valid allocation stream, the contract of
// every transform's output (transform.h): events numbered 1, 2, 3, ... in
// `seq`; every Free of a non-NULL pointer names in `alloc_seq` a live
// allocation at that address; no block freed twice; no address handed out
// twice while alive; every Stack id an event uses was defined by a Stack
// record before. Reads the source to its end in constant memory per live
// block.
#pragma once

#include "tlsheap/record_source.h"

#include <string>

namespace tlsheap::replay {

// "" if the stream is valid, else the first violation, one line.
std::string validate_allocation_stream(RecordSource& source);

} // namespace tlsheap::replay
