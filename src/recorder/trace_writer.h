// Writes a tlsheap trace from inside the recorded process. Records are built
// in a fixed buffer and flushed with write(2); a record is either wholly in
// the buffer or not at all, so a flush from a fatal-signal handler never
// leaves half a record behind. No allocation happens on the event path.
#pragma once

#include "tlsheap/trace_format.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tlsheap::recorder {

// Builds one record's payload on the stack.
class PayloadBuilder {
  public:
    void varint(std::uint64_t v) {
        if (size_ + trace::kMaxVarintBytes <= sizeof(bytes_)) {
            size_ += trace::varint_encode(v, bytes_ + size_);
        } else {
            overflow_ = true;
        }
    }
    void svarint(std::int64_t v) { varint(trace::zigzag_encode(v)); }
    void string(std::string_view s);

    const unsigned char* data() const { return bytes_; }
    std::size_t size() const { return size_; }
    bool overflowed() const { return overflow_; }

  private:
    unsigned char bytes_[2048];
    std::size_t size_ = 0;
    bool overflow_ = false;
};

class TraceWriter {
  public:
    TraceWriter() = default;
    TraceWriter(const TraceWriter&) = delete;
    TraceWriter& operator=(const TraceWriter&) = delete;
    ~TraceWriter();

    // Creates (truncates) the file and writes the header. Returns false and
    // leaves errno set when the file cannot be created.
    bool open(const char* path);
    bool is_open() const { return fd_ >= 0; }

    // Appends one record. Payloads that overflowed their builder are
    // replaced by nothing: a record is never written partially.
    void record(trace::Tag tag, const PayloadBuilder& payload);
    void record(trace::Tag tag, const unsigned char* payload, std::size_t size);

    // A record of a few varints (an allocation, a free), encoded straight
    // into the buffer: no builder, no copies, for the events written at
    // every mbedtls_calloc and mbedtls_free. The length is one byte.
    static constexpr std::size_t kMaxSmallPayload = 127;
    // Where the payload goes (room for kMaxSmallPayload bytes), or nullptr
    // when the trace is not open. Nothing counts as written before
    // end_small_record, so a signal's flush never sees half of it.
    unsigned char* begin_small_record() {
        if (fd_ < 0) {
            return nullptr;
        }
        if (used_ + 2 + kMaxSmallPayload > sizeof(buffer_)) {
            flush();
        }
        return buffer_ + used_ + 2;
    }
    void end_small_record(trace::Tag tag, std::size_t payload_size) {
        buffer_[used_] = static_cast<unsigned char>(tag);
        buffer_[used_ + 1] = static_cast<unsigned char>(payload_size);
        used_ += 2 + payload_size;
    }

    // Writes the End record (event count and CRC of everything before it),
    // flushes and closes.
    void finish(std::uint64_t event_count);

    // Pushes buffered records to the file. Called at every phase boundary and
    // outcome so that a killed recorder loses little (fatal-signal handlers,
    // SIGTERM's included, flush the rest).
    void flush();

    // Async-signal-safe: writes what is buffered, without touching the CRC
    // state, for use from a fatal-signal handler.
    void emergency_flush() noexcept;

    bool failed() const { return failed_; }

  private:
    void append(const unsigned char* p, std::size_t n);

    int fd_ = -1;
    bool failed_ = false;
    std::uint32_t crc_ = 0;
    std::size_t used_ = 0;
    // 256 KiB: a whole handshake's events usually fit between two flushes.
    unsigned char buffer_[256 * 1024];
};

} // namespace tlsheap::recorder
