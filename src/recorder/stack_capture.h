// Captures the raw return addresses of the calling thread. One small
// interface, one file per backend (stack_capture_frame_pointer.cpp,
// stack_capture_libunwind.cpp, stack_capture_execinfo.cpp); the build picks
// the file for the target ABI. Symbolization happens later, on the host,
// never here.
#pragma once

#include <cstdint>

namespace tlsheap::recorder {

// Fills frames[0..n) with return addresses, innermost first, after dropping
// the `skip` innermost frames (capture_stack itself counts as one). Returns n.
unsigned capture_stack(std::uintptr_t* frames, unsigned max, unsigned skip);

// Called once from main, before the first capture, with main's own frame
// address: stacks end there (what lies above main is the C runtime).
void stack_capture_init(const void* main_frame);

// Names the backend in the trace ("frame-pointer", "libunwind", "execinfo").
const char* stack_capture_backend();

} // namespace tlsheap::recorder
