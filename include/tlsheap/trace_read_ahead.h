// Decodes a trace on a thread of its own, a few batches of records ahead of
// the walk that reads them: on a long trace the walk then costs its own work
// and not the decoding's (a quarter of `tlsheap minpool`'s time on 10 million
// events). TraceWalker::walk takes it like any source.
//
// The reader is used by the thread alone until next_batch() has returned an
// empty batch (or thrown); after that it may be asked how the trace ended
// (truncated(), complete(), ...). What the reader throws is thrown by
// next_batch() after every record decoded before it. Destroying the object
// stops the thread wherever it is.
#pragma once

#include "tlsheap/trace_reader.h"

#include <array>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace tlsheap::trace {

class ReadAheadReader {
  public:
    explicit ReadAheadReader(TraceReader& reader);
    ~ReadAheadReader();
    ReadAheadReader(const ReadAheadReader&) = delete;
    ReadAheadReader& operator=(const ReadAheadReader&) = delete;

    // The next records in trace order, valid until the next call; empty at
    // the end of the trace.
    std::span<const Record> next_batch();

  private:
    static constexpr std::size_t kBatches = 8;
    static constexpr std::size_t kBatchRecords = 4096;

    struct Batch {
        std::vector<Record> records = std::vector<Record>(kBatchRecords);
        std::size_t count = 0;
        bool last = false;          // the reader's end (or failure) follows these
        std::exception_ptr failure; // what the reader threw after these
    };

    void decode();
    // Throws failure_, once; the caller holds mutex_.
    [[noreturn]] void throw_failure();

    TraceReader& reader_;
    std::array<Batch, kBatches> batches_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t filled_ = 0;   // batches decoded, in ring order (the thread's count)
    std::size_t consumed_ = 0; // batches handed back by next_batch
    bool in_hand_ = false;     // next_batch holds batch consumed_ % kBatches
    bool stop_ = false;
    bool finished_ = false;      // the walk saw the last batch
    std::exception_ptr failure_; // the reader's, to throw on the next call
    std::thread thread_;
};

} // namespace tlsheap::trace
