// The replay's time series: live bytes and every model's heap over the
// recording, in buckets of `stride` events. When there are twice as many
// buckets as asked for, neighbours merge and the stride doubles, so memory
// stays fixed however long the trace. Per event only the maxima are kept;
// the rest is read when a bucket closes. A bucket closes before the first
// event of the next one is applied, so its point shows the heap after its
// own last event, never after the next bucket's first.
#pragma once

#include "model_driver.h"
#include "tlsheap/replay_engine.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tlsheap::replay {

class TimeSeries {
  public:
    // About `points` points (between `points` and twice as many); with
    // `heap_figures`, each model's heap API figures at every point.
    TimeSeries(unsigned points, bool heap_figures) : points_(points), heap_figures_(heap_figures) {}

    // The models are built: one used-bytes maximum per model.
    void start(std::size_t model_count);
    // Event `seq` is about to change the models (called before it is applied).
    void begin_event(std::uint64_t seq, const ModelDriver& models);
    // A model's bytes in use grew to `used` (model index as in ModelDriver).
    void note_used(std::size_t model, std::uint64_t used);
    // Event `seq` was applied; `live` is the recording's live bytes after it.
    void end_event(std::uint64_t seq, std::uint64_t live, const ModelDriver& models);
    // The points, the open bucket closed with the state at the end.
    std::vector<SeriesPoint> finish(const ModelDriver& models);

  private:
    void open_bucket(std::uint64_t seq, const ModelDriver& models);
    void close_bucket(const ModelDriver& models);
    void merge_buckets();

    unsigned points_;
    bool heap_figures_;
    std::vector<SeriesPoint> series_;
    std::vector<std::uint64_t> used_max_; // per model, in the open bucket
    std::uint64_t stride_ = 1;
    std::uint64_t bucket_end_ = 0;
    std::uint64_t bucket_seq_ = 0;
    std::uint64_t bucket_live_max_ = 0;
    std::uint64_t live_ = 0; // after the last event applied
    // No event applied since the last bucket closed (or ever): nothing to close.
    bool bucket_empty_ = true;
};

} // namespace tlsheap::replay
