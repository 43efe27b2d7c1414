// A stream of trace records: a trace file, or a buffer-scheme transform that
// rewrites the stream of another source (the allocations the record buffers
// would have made under ESP-IDF's dynamic buffers, say). The replay engine
// reads one; it never knows which.
#pragma once

#include "tlsheap/trace_reader.h"

#include <functional>
#include <memory>
#include <string>

namespace tlsheap::replay {

class RecordSource {
  public:
    virtual ~RecordSource() = default;
    // Same contract as TraceReader::next: false at the end; throws
    // trace::TraceError on corruption.
    virtual bool next(trace::Record& out) = 0;
    virtual bool complete() const = 0;
    virtual bool truncated() const = 0;
    virtual std::string truncation_message() const = 0;
    // The size of the trace in bytes, when known (0: not known): what a walk
    // keeps may be sized by it up front; it bounds nothing.
    virtual std::uint64_t size_hint() const { return 0; }
};

// Opens the stream to replay afresh: the trace, or a transform over it.
using SourceFactory = std::function<std::unique_ptr<RecordSource>()>;

// A trace file (or bytes) as a source.
class TraceReaderSource final : public RecordSource {
  public:
    explicit TraceReaderSource(trace::TraceReader& reader) : reader_(reader) {}
    bool next(trace::Record& out) override { return reader_.next(out); }
    bool complete() const override { return reader_.complete(); }
    bool truncated() const override { return reader_.truncated(); }
    std::string truncation_message() const override { return reader_.truncation_message(); }
    std::uint64_t size_hint() const override { return reader_.size_hint(); }

  private:
    trace::TraceReader& reader_;
};

// A trace file as a source that owns its reader.
class TraceFileSource final : public RecordSource {
  public:
    explicit TraceFileSource(const std::string& path) : reader_(path) {}
    bool next(trace::Record& out) override { return reader_.next(out); }
    bool complete() const override { return reader_.complete(); }
    bool truncated() const override { return reader_.truncated(); }
    std::string truncation_message() const override { return reader_.truncation_message(); }
    std::uint64_t size_hint() const override { return reader_.size_hint(); }

  private:
    trace::TraceReader reader_;
};

} // namespace tlsheap::replay
