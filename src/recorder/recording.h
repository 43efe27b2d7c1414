// The recording in progress: owns the trace writer, the stack table and the
// live-allocation table, and turns what the shim, the transport tap and the
// handshake driver report into trace records. One per process.
#pragma once

#include "live_allocation_table.h"
#include "painted_stack.h"
#include "stack_table.h"
#include "tlsheap/trace_format.h"
#include "trace_writer.h"
#include "transport_tap.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tlsheap::recorder {

class Recording {
  public:
    // Inline: the allocation shim asks for it at every call.
    static Recording& instance() {
        // Constructed on first use, never destroyed: the shim may run during
        // static destruction of the program.
        static Recording* recording = new Recording();
        return *recording;
    }

    // Opens the trace; events are recorded from then on. Returns false with
    // errno set when the file cannot be created.
    bool start(const char* path, bool capture_stacks);
    bool active() const { return active_; }
    bool capture_stacks() const { return capture_stacks_; }

    void meta(std::string_view key, std::string_view value);
    void config(std::string_view name, std::string_view value);
    void state_name(int id, std::string_view name);
    void module(std::uint64_t start, std::uint64_t end, std::uint64_t bias, std::string_view path,
                std::string_view build_id);

    // From the allocation shim.
    void on_alloc(std::size_t count, std::size_t size, const void* result,
                  const std::uintptr_t* frames, unsigned depth);
    void on_free(const void* pointer, const std::uintptr_t* frames, unsigned depth);

    // From the lifecycle driver: the connection whose code runs from now on
    // (trace::kSharedConnection for what connections share). Written only
    // when it changes, and always before the first event.
    void connection(std::uint32_t id);
    std::uint32_t current_connection() const { return connection_; }

    // From the handshake driver.
    void phase(trace::Phase p);
    void step_begin(int state);
    void step_end(int state_after, int ret);
    void activity(bool begin, std::string_view name);
    void role(const void* pointer, trace::Role role);
    void outcome(trace::OutcomeKind kind, int ret, int state, std::string_view text);
    void pool_stats(std::uint64_t pool_size, std::uint64_t header_size, std::uint64_t max_used,
                    std::uint64_t max_blocks, std::uint64_t cur_used, std::uint64_t cur_blocks,
                    std::uint64_t pool_base);

    // From the transport tap.
    static void on_tls_record(const ObservedRecord& record, void* self);

    // Seq of the allocation that returned a live pointer (0 if none).
    std::uint64_t seq_of(const void* pointer) const;
    std::uint64_t live_count() const { return live_.size(); }
    std::uint64_t event_count() const { return seq_; }

    void flush() { writer_.flush(); }
    // Writes the End record and closes the trace. Returns false if any write failed.
    bool finish();
    // Stops recording without writing anything more (a forked child, whose
    // parent goes on writing the same file).
    void abandon() { active_ = false; }
    // For fatal-signal handlers.
    void emergency_flush() noexcept { writer_.emergency_flush(); }

  private:
    Recording() = default;
    std::uint64_t elapsed_ns();
    std::uint64_t address_code(const void* pointer);
    std::uint32_t stack_id(const std::uintptr_t* frames, unsigned depth);
    // The painted stack's intervals (painted_stack.h), one per context: a
    // StackHighWater record for the context that ends, measured before
    // anything is written; the next interval begins at `frame`, the frame of
    // the Recording call the driver made.
    __attribute__((always_inline)) StackInterval end_stack_interval() {
        // What ran before the first context record was the recorder's own start.
        if (!active_ || !stack_measured_ || !painted_stack_active()) {
            return {};
        }
        return measure_stack_interval();
    }
    __attribute__((noinline)) void write_stack_interval(const StackInterval& ended);
    __attribute__((always_inline)) void begin_stack_interval(const void* frame) {
        if (active_ && painted_stack_active()) {
            stack_measured_ = true;
            restart_stack_interval(frame);
        }
    }
    __attribute__((noinline)) void write_connection(std::uint32_t id);
    __attribute__((noinline)) void write_phase(trace::Phase phase);
    __attribute__((noinline)) void write_step_begin(int state);
    __attribute__((noinline)) void write_step_end(int state_after, int ret);
    __attribute__((noinline)) void write_activity(bool begin, std::string_view name);
    __attribute__((noinline)) void write_role(const void* pointer, trace::Role role);
    __attribute__((noinline)) void write_outcome(trace::OutcomeKind kind, int ret, int state,
                                                 std::string_view text);
    __attribute__((noinline)) void
    write_pool_stats(std::uint64_t pool_size, std::uint64_t header_size, std::uint64_t max_used,
                     std::uint64_t max_blocks, std::uint64_t cur_used, std::uint64_t cur_blocks,
                     std::uint64_t pool_base);

    TraceWriter writer_;
    StackTable stacks_;
    LiveAllocationTable live_;
    bool active_ = false;
    bool capture_stacks_ = true;
    std::uint64_t seq_ = 0;
    std::uint64_t last_ns_ = 0;
    std::uintptr_t last_address_ = 0;
    std::uint32_t connection_ = trace::kSharedConnection;
    bool connection_written_ = false;
    bool stack_measured_ = false;
};

} // namespace tlsheap::recorder
