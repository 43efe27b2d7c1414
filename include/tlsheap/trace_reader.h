// Streaming reader of tlsheap traces. Reads one record at a time from a file
// through a fixed buffer, so memory does not grow with the trace. A truncated
// file (recorder killed mid-handshake) reads up to its last complete record;
// truncated() then says so. Corruption is a TraceError with a one-line
// message naming the byte offset.
#pragma once

#include "tlsheap/trace_format.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tlsheap::trace {

class TraceError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct SourceLevel {
    std::string function;
    std::string file;
    std::uint32_t line = 0;
    bool in_mbedtls = false;
};

// One decoded record. Only the members belonging to `tag` are meaningful;
// the object is reused between calls so that reading allocates nothing once
// warmed up.
struct Record {
    Tag tag = Tag::End;
    std::uint64_t offset = 0; // of the record's tag byte in the file

    // Alloc / Free
    std::uint64_t seq = 0;       // event sequence number, first event is 1
    std::uint64_t time_ns = 0;   // since the recording started
    std::uint64_t count = 0;     // Alloc: calloc's nmemb
    std::uint64_t size = 0;      // Alloc: calloc's size (bytes asked = count * size)
    std::uint64_t address = 0;   // Alloc: result (0 = NULL); Free: pointer (0 = NULL)
    std::uint64_t alloc_seq = 0; // Free: seq of the matching Alloc, 0 if the recorder knew none
    std::uint32_t stack = 0;     // Alloc/Free/Stack: stack id, 0 = none

    // Phase / StepBegin / StepEnd / Role / Outcome / StateName / Activity
    Phase phase = Phase::Setup;
    std::uint32_t state = 0; // StepBegin: state stepped; StepEnd: state after; StateName: id
    std::int64_t ret = 0;    // StepEnd / Outcome
    bool begin = false;      // Activity
    Role role = Role::InBuffer;
    std::uint64_t role_seq = 0;
    OutcomeKind outcome = OutcomeKind::Handshake;
    std::uint32_t connection = 0; // Connection

    // Meta (key, value), Config (key=name, value), StateName (value=name),
    // Activity (key=name), Outcome (value=text), Module (key=path, value=build id)
    std::string key;
    std::string value;

    // Stack: frames, innermost first. Module: start, end, bias in values[0..2], id in seq.
    std::vector<std::uint64_t> frames;
    std::vector<std::uint64_t> values;

    // TlsRecord
    Direction direction = Direction::Out;
    std::uint8_t content_type = 0;
    std::uint16_t version = 0;
    std::uint32_t length = 0;
    std::uint8_t flags = 0;
    std::vector<std::uint8_t> hs_types;
    std::uint16_t epoch = 0;    // flags has kRecordDatagram (1.5); else 0
    std::uint64_t sequence = 0; // the DTLS record sequence number, likewise

    // PoolStats: pool_size header_size max_used max_blocks cur_used cur_blocks pool_base in values
    // StackHighWater: deepest base in values

    // Frame: address, then levels
    std::vector<SourceLevel> levels;

    // Alloc: the bytes asked (count * size, modulo 2^64), and whether that
    // product overflowed (a calloc that no allocator serves).
    std::uint64_t bytes_asked() const { return count * size; }
    bool bytes_overflow() const { return size != 0 && bytes_asked() / size != count; }

    // End
    std::uint64_t end_event_count = 0;
    std::uint32_t end_crc = 0;
};

// The trace path that reads standard input (`... | tlsheap replay -`).
inline constexpr char kStandardInput[] = "-";

class TraceReader {
  public:
    // Opens a trace file (kStandardInput: standard input); throws TraceError
    // if it cannot be opened, is not a tlsheap trace, or comes from a newer
    // major format version.
    explicit TraceReader(const std::string& path);
    // Reads a trace held in memory (tests, fuzzing).
    static std::unique_ptr<TraceReader> from_bytes(std::vector<unsigned char> bytes,
                                                   std::string name = "<memory>");
    ~TraceReader();
    TraceReader(const TraceReader&) = delete;
    TraceReader& operator=(const TraceReader&) = delete;

    std::uint16_t version_major() const { return major_; }
    std::uint16_t version_minor() const { return minor_; }
    const std::string& name() const { return name_; }

    // Decodes the next record into `out`. Returns false at the end of the
    // trace (after End, or where a truncated file stops). Throws TraceError
    // on corruption.
    bool next(Record& out);

    bool complete() const { return complete_; }
    bool truncated() const { return truncated_; }
    // "trace.bin is truncated at byte 5120 (after event 812): ..."
    std::string truncation_message() const;
    std::uint64_t events_read() const { return seq_; }
    // The encoded bytes (tag, length, payload) of the record next() just
    // returned; valid until the following call. For tools that copy records.
    const unsigned char* last_record_data() const { return last_data_; }
    std::size_t last_record_size() const { return last_size_; }
    std::uint64_t bytes_read() const { return consumed_; }
    // The trace's size in bytes when it was opened (0 if unknown): a hint for
    // sizing what a walk keeps, never a bound.
    std::uint64_t size_hint() const { return size_; }

  private:
    TraceReader() = default;
    void open_header();
    // Makes at least n bytes available at pos_; false if the input ends first.
    bool fill(std::size_t n);
    [[noreturn]] void corrupt(const std::string& what, std::uint64_t offset) const;
    [[noreturn]] void unknown_tag(Tag tag, std::uint64_t offset) const;
    // Decodes a payload into `out`; throws TraceError if it is malformed.
    // `partial`: [p, end) is what the file holds of a longer payload; returns
    // whether it can be the beginning of one (false: the length is damaged).
    bool decode(Tag tag, const unsigned char* p, const unsigned char* end, Record& out,
                bool partial);

    std::string name_;
    std::FILE* file_ = nullptr;
    std::vector<unsigned char> buffer_;
    std::size_t pos_ = 0;   // next unread byte in buffer_
    std::size_t limit_ = 0; // bytes valid in buffer_
    bool eof_ = false;
    std::uint64_t consumed_ = 0; // file offset of buffer_[pos_]
    std::uint64_t size_ = 0;     // size_hint()
    std::uint16_t major_ = 0;
    std::uint16_t minor_ = 0;
    std::uint32_t crc_ = 0;
    std::size_t crc_done_ = 0; // buffer_[0, crc_done_) is in crc_
    std::uint64_t seq_ = 0;
    std::uint64_t time_ns_ = 0;
    std::uint64_t last_address_ = 0;
    const unsigned char* last_data_ = nullptr;
    std::size_t last_size_ = 0;
    std::uint64_t highest_connection_ = kSharedConnection;
    bool complete_ = false;
    bool truncated_ = false;
    std::uint64_t truncated_at_ = 0;
};

} // namespace tlsheap::trace
