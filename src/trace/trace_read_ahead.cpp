#include "tlsheap/trace_read_ahead.h"

namespace tlsheap::trace {

ReadAheadReader::ReadAheadReader(TraceReader& reader)
    : reader_(reader), thread_([this] { decode(); }) {}

ReadAheadReader::~ReadAheadReader() {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

void ReadAheadReader::decode() {
    for (std::size_t n = 0;; ++n) {
        Batch& batch = batches_[n % kBatches];
        {
            // Wait for the batch to be free: handed back, or never handed out.
            std::unique_lock<std::mutex> lock(mutex_);
            changed_.wait(lock, [&] { return stop_ || n < consumed_ + kBatches; });
            if (stop_)
                return;
        }
        batch.count = 0;
        batch.last = false;
        batch.failure = nullptr;
        try {
            while (batch.count < kBatchRecords && reader_.next(batch.records[batch.count]))
                ++batch.count;
            batch.last = batch.count < kBatchRecords;
        } catch (...) {
            batch.failure = std::current_exception();
            batch.last = true;
        }
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            filled_ = n + 1;
        }
        changed_.notify_all();
        if (batch.last)
            return;
    }
}

void ReadAheadReader::throw_failure() {
    finished_ = true;
    std::exception_ptr failure = nullptr;
    std::swap(failure, failure_);
    std::rethrow_exception(failure);
}

std::span<const Record> ReadAheadReader::next_batch() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (in_hand_) {
        in_hand_ = false;
        ++consumed_;
        changed_.notify_all();
    }
    if (failure_)
        throw_failure();
    if (finished_)
        return {};
    changed_.wait(lock, [&] { return consumed_ < filled_; });
    const Batch& batch = batches_[consumed_ % kBatches];
    in_hand_ = true;
    if (batch.last) {
        // The records decoded before the end first; the failure, if the
        // reader threw, on the call after them (now, if there are none).
        finished_ = batch.failure == nullptr;
        failure_ = batch.failure;
        if (batch.count == 0 && failure_)
            throw_failure();
    }
    return {batch.records.data(), batch.count};
}

} // namespace tlsheap::trace
