// Hand-made recordings for the transform tests (TraceBuilder with stack 1 by
// default), read back through TraceReader as a RecordSource.
#pragma once

#include "../trace_builder.h"
#include "tlsheap/record_source.h"
#include "tlsheap/trace_encoder.h"
#include "tlsheap/trace_reader.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tlsheap::testing {

// The transform tests' allocations and frees come from stack 1, a frame each
// test names (e.g. the certificate parser).
class TransformTraceBuilder : public TraceBuilder {
  public:
    TransformTraceBuilder() : TraceBuilder(1) {}
};

// A trace in memory or on disk as a RecordSource that owns its reader.
class OwnedTraceSource final : public replay::RecordSource {
  public:
    explicit OwnedTraceSource(std::unique_ptr<trace::TraceReader> reader)
        : reader_(std::move(reader)) {}
    static std::unique_ptr<replay::RecordSource> from_bytes(std::vector<unsigned char> bytes) {
        return std::make_unique<OwnedTraceSource>(trace::TraceReader::from_bytes(std::move(bytes)));
    }
    static std::unique_ptr<replay::RecordSource> from_file(const std::string& path) {
        return std::make_unique<OwnedTraceSource>(std::make_unique<trace::TraceReader>(path));
    }
    bool next(trace::Record& out) override { return reader_->next(out); }
    bool complete() const override { return reader_->complete(); }
    bool truncated() const override { return reader_->truncated(); }
    std::string truncation_message() const override { return reader_->truncation_message(); }

  private:
    std::unique_ptr<trace::TraceReader> reader_;
};

// Records made in the test, as a source.
class VectorSource final : public replay::RecordSource {
  public:
    explicit VectorSource(std::vector<trace::Record> records) : records_(std::move(records)) {}
    bool next(trace::Record& out) override {
        if (next_ == records_.size())
            return false;
        out = records_[next_++];
        return true;
    }
    bool complete() const override { return true; }
    bool truncated() const override { return false; }
    std::string truncation_message() const override { return ""; }

  private:
    std::vector<trace::Record> records_;
    std::size_t next_ = 0;
};

// Every record a source yields.
inline std::vector<trace::Record> drain(replay::RecordSource& source) {
    std::vector<trace::Record> records;
    trace::Record r;
    while (source.next(r))
        records.push_back(r);
    return records;
}

} // namespace tlsheap::testing
