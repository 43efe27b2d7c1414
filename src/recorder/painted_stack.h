// Stack high-water by painting, as FreeRTOS's uxTaskGetStackHighWaterMark
// does on the device: the recorder runs on a thread whose stack it filled
// with a pattern, and the deepest word no longer holding the pattern is the
// deepest the code went. Marks split the run into intervals (one per
// handshake step, phase and connection): each measures the interval, then
// repaints what the interval used, so every interval is measured alone.
//
// What the recorder itself does inside mbedTLS's calls (walking the stack of
// an allocation, writing the trace) must not count: the allocation hook
// opens a StackExcursion, which measures before that work and repaints after
// it. The hook's own entry frame and the allocator below mbedTLS's calloc
// (libc, or memory_buffer_alloc) do count, as the device's allocator would.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tlsheap::recorder {

// Runs body(arg) on a new thread with a painted stack of `bytes` (a guard
// page below it) and returns body's result. Signals stay blocked on the
// calling thread meanwhile, so handlers run on the painted one. Returns
// false, with `error` set, when the thread cannot be made.
bool run_on_painted_stack(std::size_t bytes, int (*body)(void*), void* arg, int& result,
                          const char*& error);

// Whether this build paints at all: not under a sanitizer, which poisons the
// stack below the frames and grows every frame with redzones (its depths
// would not be the device's). run_on_painted_stack then runs the body as is.
bool painted_stack_supported();

// Whether the calling code runs on the painted stack (false in a user's
// program, a sanitizer build, or before run_on_painted_stack).
bool painted_stack_active();

// The painted size; 0 when inactive.
std::size_t painted_stack_size();

// Whether a fault at `address` hit the guard page below the painted stack.
bool painted_stack_overflowed(const void* address);

// One interval's figures, in bytes below the top of the painted stack (the
// frame of the function run_on_painted_stack called).
struct StackInterval {
    std::uint64_t deepest = 0; // the deepest the interval went
    std::uint64_t base = 0;    // the depth of the recorder frame that began it
};

// Measures the interval that began at the last restart (or at the start).
// Call it before doing anything that uses stack, then restart.
StackInterval measure_stack_interval();
// Begins a new interval at `frame` (the caller's __builtin_frame_address(0)):
// repaints everything below it that the last interval used.
void restart_stack_interval(const void* frame);

// Around the recorder's own work inside an mbedTLS call.
class StackExcursion {
  public:
    StackExcursion();
    ~StackExcursion();
    StackExcursion(const StackExcursion&) = delete;
    StackExcursion& operator=(const StackExcursion&) = delete;

  private:
    bool active_;
};

} // namespace tlsheap::recorder
