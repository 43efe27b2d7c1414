#include "time_series.h"

#include <algorithm>

namespace tlsheap::replay {

void TimeSeries::start(std::size_t model_count) {
    used_max_.assign(model_count, 0);
}

void TimeSeries::begin_event(std::uint64_t seq, const ModelDriver& models) {
    if (seq > bucket_end_) {
        close_bucket(models);
        open_bucket(seq, models);
    }
}

void TimeSeries::note_used(std::size_t model, std::uint64_t used) {
    used_max_[model] = std::max(used_max_[model], used);
}

void TimeSeries::end_event(std::uint64_t seq, std::uint64_t live, const ModelDriver& models) {
    if (bucket_empty_) {
        // The maxima are over the states after the bucket's events: a free
        // as its first event must not leave the level before it as the max.
        // Later on only an allocation raises a model's bytes (note_used).
        for (std::size_t i = 0; i < models.model_count(); ++i) {
            used_max_[i] = std::max(used_max_[i], models.model(i).used_bytes());
        }
        bucket_live_max_ = live;
        bucket_empty_ = false;
    }
    bucket_seq_ = seq;
    bucket_live_max_ = std::max(bucket_live_max_, live);
    live_ = live;
}

std::vector<SeriesPoint> TimeSeries::finish(const ModelDriver& models) {
    close_bucket(models);
    return std::move(series_);
}

void TimeSeries::open_bucket(std::uint64_t seq, const ModelDriver& models) {
    if (series_.size() >= 2 * std::max(1u, points_)) {
        merge_buckets();
    }
    const std::uint64_t bucket = (seq - 1) / stride_;
    bucket_end_ = (bucket + 1) * stride_;
    bucket_live_max_ = 0;
    used_max_.assign(models.model_count(), 0);
    bucket_empty_ = true;
}

void TimeSeries::close_bucket(const ModelDriver& models) {
    if (bucket_empty_) {
        return;
    }
    SeriesPoint p;
    p.seq = bucket_seq_;
    p.live = live_;
    p.live_max = bucket_live_max_;
    p.used_max = used_max_;
    p.footprint.resize(models.model_count());
    for (std::size_t i = 0; i < models.model_count(); ++i) {
        p.footprint[i] = models.model(i).footprint();
        if (heap_figures_) {
            p.heap.push_back(models.model(i).heap_figures());
        }
    }
    series_.push_back(std::move(p));
    bucket_empty_ = true;
}

void TimeSeries::merge_buckets() {
    std::vector<SeriesPoint> merged;
    merged.reserve(series_.size() / 2 + 1);
    for (std::size_t i = 0; i < series_.size(); i += 2) {
        if (i + 1 == series_.size()) {
            merged.push_back(std::move(series_[i]));
            break;
        }
        SeriesPoint p = std::move(series_[i + 1]);
        p.live_max = std::max(series_[i].live_max, p.live_max);
        for (std::size_t k = 0; k < p.used_max.size(); ++k) {
            p.used_max[k] = std::max(series_[i].used_max[k], p.used_max[k]);
        }
        merged.push_back(std::move(p));
    }
    series_.swap(merged);
    stride_ *= 2;
}

} // namespace tlsheap::replay
