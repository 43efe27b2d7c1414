// The replay engine: a walk over the trace, each event handed to the
// recording's statistics, the allocator models and the time series (or two
// walks on two threads, one for the recording's figures, one for the models').
#include "tlsheap/replay_engine.h"

#include "cycle_table.h"
#include "model_driver.h"
#include "real_pool_check.h"
#include "recording_statistics.h"
#include "resumption_statistics.h"
#include "time_series.h"
#include "tlsheap/allocation_stream.h"
#include "tlsheap/trace_walker.h"
#include "tlsheap/walker_moment.h"

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace tlsheap::replay {

namespace {

using trace::FreeKind;
using trace::LiveAllocation;
using trace::Record;

// What the recording itself says: its statistics, the resumption figures,
// and the allocation stream kept for the min-pool search.
class RecordingPart final : public trace::WalkerHooks {
  public:
    RecordingPart(const trace::TraceWalker& walker, const ReplayOptions& options,
                  ReplayResult& result)
        : walker_(walker), result_(result), statistics_(walker, options, result),
          resumption_(walker) {}

    // Also keeps the allocation stream of the walk, for replays that follow.
    void keep_stream(AllocationStream& stream, std::uint64_t trace_bytes) {
        stream_.emplace(walker_, stream);
        stream_->expect_trace_bytes(trace_bytes);
    }
    void on_alloc(const Record& r, const LiveAllocation* block, std::uint32_t slot) override {
        if (stream_) {
            stream_->on_alloc(r, block, slot);
        }
        statistics_.count_event(r);
        resumption_.on_alloc(block);
        if (block == nullptr) {
            // The recorded allocator said NULL: nothing was allocated.
            statistics_.on_null_alloc(moment_of(r, walker_), r.bytes_asked(), r.bytes_overflow());
        } else {
            statistics_.on_alloc(r.stack, r.bytes_asked(), r.bytes_overflow());
            statistics_.note_live(moment_of(r, walker_));
        }
    }

    void on_free(const Record& r, FreeKind kind, const LiveAllocation* block,
                 std::uint32_t slot) override {
        if (stream_) {
            stream_->on_free(r, kind, block, slot);
        }
        statistics_.count_event(r);
        statistics_.on_free(r, kind, block, moment_of(r, walker_));
    }

    void on_phase(const Record& r, Phase previous) override {
        statistics_.on_phase(r, previous);
        resumption_.on_phase();
    }

    void on_context(const Record& r) override {
        statistics_.on_context(r);
        resumption_.on_context(r);
    }

    // The stream is whole: its stretches are found (before finish, for work
    // that follows the walk at once).
    void finish_stream() {
        if (stream_) {
            stream_->finish();
        }
    }

    void finish(RecordSource& reader) {
        statistics_.finish(reader);
        result_.resumption = resumption_.finish();
    }

  private:
    const trace::TraceWalker& walker_;
    ReplayResult& result_;
    RecordingStatistics statistics_;
    ResumptionStatistics resumption_;
    std::optional<AllocationStreamBuilder> stream_;
};

// What the allocator models make of it: their runs, the time series and the
// cycle table. Needs nothing from RecordingPart, so that the two can follow
// walks of their own, on two threads.
class ModelPart final : public trace::WalkerHooks {
  public:
    ModelPart(const trace::TraceWalker& walker, const ReplayOptions& options)
        : walker_(walker), models_(options, real_pool_),
          series_(options.series_points, options.pool_size.has_value()),
          cycles_(options.pool_size.has_value() && options.heap_verdicts) {}

    void on_description(const Record& r) override { real_pool_.on_description(r); }

    void on_alloc(const Record& r, const LiveAllocation* block, std::uint32_t slot) override {
        ensure_models();
        series_.begin_event(r.seq, models_);
        if (block != nullptr) {
            if (r.bytes_asked() == 0 || r.bytes_overflow()) {
                // On an embedded heap an empty request returns NULL: no model places it.
                models_.place_nowhere(slot, walker_.slot_capacity());
            } else {
                const std::uint64_t* placed = models_.allocate(
                    r, r.bytes_asked(), moment_of(r, walker_), slot, walker_.slot_capacity());
                for (std::size_t i = 0; i < models_.model_count(); ++i) {
                    if (placed[i] != ModelDriver::kNotPlaced) {
                        series_.note_used(i, models_.model(i).used_bytes());
                    }
                }
            }
            // A new live peak, as RecordingStatistics::note_live finds it
            // (the highest live bytes so far, from 0).
            if (walker_.live_bytes() > live_peak_) {
                live_peak_ = walker_.live_bytes();
                models_.note_live_peak();
            }
        }
        series_.end_event(r.seq, walker_.live_bytes(), models_);
        cycles_.observe(r, walker_, models_);
    }

    void on_free(const Record& r, FreeKind kind, const LiveAllocation* /*block*/,
                 std::uint32_t slot) override {
        ensure_models();
        series_.begin_event(r.seq, models_);
        if (kind == FreeKind::Known) {
            models_.release(slot, moment_of(r, walker_));
        }
        series_.end_event(r.seq, walker_.live_bytes(), models_);
        cycles_.observe(r, walker_, models_);
    }

    void on_phase(const Record& r, Phase previous) override {
        models_.end_phase(previous);
        if (previous == Phase::Handshake && r.phase == Phase::Application) {
            models_.note_handshake_done();
        }
        cycles_.observe(r, walker_, models_);
    }

    // Cycles begin and end where the connection changes. Models are not
    // built here: a cycle closed before the first allocation has no model
    // figures, and the models keep being built at the first event.
    void on_connection(const Record& r, std::uint32_t /*previous*/) override {
        cycles_.observe(r, walker_, models_);
    }

    void on_context(const Record& r) override { cycles_.observe(r, walker_, models_); }

    void finish(ReplayResult& result) {
        ensure_models();
        result.series = series_.finish(models_);
        models_.end_phase(walker_.phase());
        cycles_.finish(walker_, models_, result.cycles);
        models_.finish(result.models);
    }

  private:
    // Models are built at the first event (see ModelDriver::start).
    void ensure_models() {
        if (models_.started()) {
            return;
        }
        models_.start(walker_.info());
        series_.start(models_.model_count());
    }

    const trace::TraceWalker& walker_;
    RealPoolCheck real_pool_;
    ModelDriver models_;
    TimeSeries series_;
    CycleTable cycles_;
    std::uint64_t live_peak_ = 0;
};

// Several clients on one walk, each handed every event in turn.
class HooksInTurn final : public trace::WalkerHooks {
  public:
    explicit HooksInTurn(std::vector<trace::WalkerHooks*> hooks) : hooks_(std::move(hooks)) {
        std::erase(hooks_, nullptr);
    }

    void on_description(const Record& r) override {
        for (trace::WalkerHooks* h : hooks_)
            h->on_description(r);
    }
    void on_alloc(const Record& r, const LiveAllocation* block, std::uint32_t slot) override {
        for (trace::WalkerHooks* h : hooks_)
            h->on_alloc(r, block, slot);
    }
    void on_free(const Record& r, FreeKind kind, const LiveAllocation* block,
                 std::uint32_t slot) override {
        for (trace::WalkerHooks* h : hooks_)
            h->on_free(r, kind, block, slot);
    }
    void on_phase(const Record& r, Phase previous) override {
        for (trace::WalkerHooks* h : hooks_)
            h->on_phase(r, previous);
    }
    void on_connection(const Record& r, std::uint32_t previous) override {
        for (trace::WalkerHooks* h : hooks_)
            h->on_connection(r, previous);
    }
    void on_context(const Record& r) override {
        for (trace::WalkerHooks* h : hooks_)
            h->on_context(r);
    }

  private:
    std::vector<trace::WalkerHooks*> hooks_;
};

// After the walks: each part's figures, and the walk's own (the recording
// part's walker).
void finish(RecordingPart& recording, RecordSource& source, ModelPart& models,
            trace::TraceWalker& walker, ReplayResult& result) {
    recording.finish(source);
    models.finish(result);
    result.connections = walker.connection_count() - 1;
    result.info = walker.take_info();
}

// The recording's walk ended: its stream is finished and `after` runs. What
// `after` throws is kept, to be thrown once the walks' own errors were.
std::exception_ptr after_recording_walk(RecordingPart& recording, const trace::TraceWalker& walker,
                                        const AfterRecordingWalk& after) {
    recording.finish_stream();
    if (!after) {
        return nullptr;
    }
    try {
        after(walker.connection_count() - 1);
    } catch (...) {
        return std::current_exception();
    }
    return nullptr;
}

ReplayResult replay_in_one_walk(RecordSource& source, const ReplayOptions& options,
                                AllocationStream* stream, trace::WalkerHooks* also,
                                const AfterRecordingWalk& after) {
    ReplayResult result;
    trace::TraceWalker walker;
    RecordingPart recording(walker, options, result);
    if (stream != nullptr) {
        recording.keep_stream(*stream, source.size_hint());
    }
    ModelPart models(walker, options);
    HooksInTurn all({&models, &recording, also});
    walker.walk(source, all);
    const std::exception_ptr after_failure = after_recording_walk(recording, walker, after);
    finish(recording, source, models, walker, result);
    if (after_failure) {
        std::rethrow_exception(after_failure);
    }
    return result;
}

} // namespace

const Outcome* ReplayResult::handshake_outcome() const {
    for (const Outcome& o : outcomes) {
        if (o.kind == trace::OutcomeKind::Handshake) {
            return &o;
        }
    }
    return nullptr;
}

const Outcome* ReplayResult::failure() const {
    for (const Outcome& o : outcomes) {
        if (o.kind == trace::OutcomeKind::Failure) {
            return &o;
        }
    }
    return nullptr;
}

ReplayResult replay_trace(RecordSource& source, const ReplayOptions& options) {
    return replay_in_one_walk(source, options, nullptr, nullptr, {});
}

ReplayResult replay_trace(RecordSource& source, const ReplayOptions& options,
                          AllocationStream& stream, trace::WalkerHooks* also) {
    return replay_in_one_walk(source, options, &stream, also, {});
}

ReplayResult replay_trace(trace::TraceReader& reader, const ReplayOptions& options) {
    TraceReaderSource source(reader);
    return replay_trace(source, options);
}

Walks walks_for_this_machine() {
    return std::thread::hardware_concurrency() >= 2 ? Walks::TwoBesideEachOther : Walks::One;
}

ReplayResult replay_trace(const SourceFactory& open, const ReplayOptions& options,
                          AllocationStream& stream, trace::WalkerHooks* also, Walks walks,
                          const AfterRecordingWalk& after) {
    // Both sources are opened here, one after the other (a trace read from
    // standard input is held once for every opening).
    const std::unique_ptr<RecordSource> source = open();
    if (walks == Walks::One) {
        return replay_in_one_walk(*source, options, &stream, also, after);
    }
    const std::unique_ptr<RecordSource> model_source = open();
    ReplayResult result;
    trace::TraceWalker model_walker;
    model_walker.keep_no_freed_addresses(); // ModelPart acts only on frees of live blocks
    ModelPart models(model_walker, options);
    std::exception_ptr model_failure;
    bool model_trace_error = false;
    auto walk_models = [&] {
        try {
            model_walker.walk(*model_source, models);
        } catch (const trace::TraceError&) {
            model_failure = std::current_exception();
            model_trace_error = true;
        } catch (...) {
            model_failure = std::current_exception();
        }
    };
    std::optional<std::thread> beside;
    try {
        beside.emplace(walk_models);
    } catch (const std::system_error&) {
        // No thread to be had: the models' walk follows on this one.
    }
    trace::TraceWalker walker;
    RecordingPart recording(walker, options, result);
    recording.keep_stream(stream, source->size_hint());
    HooksInTurn recording_and_also({&recording, also});
    std::exception_ptr recording_failure;
    std::exception_ptr after_failure;
    try {
        walker.walk(*source, recording_and_also);
    } catch (...) {
        recording_failure = std::current_exception();
    }
    if (!recording_failure) {
        // Beside the models' walk, which may still be going.
        after_failure = after_recording_walk(recording, walker, after);
    }
    if (beside) {
        beside->join();
    } else {
        walk_models();
    }
    // The failure one walk would have met first: both walks decode the same
    // records, so a trace error is met by both at the same record, and the
    // models' own errors (a model that cannot be built) come at the first
    // event.
    if (model_failure && !(model_trace_error && recording_failure)) {
        std::rethrow_exception(model_failure);
    }
    if (recording_failure) {
        std::rethrow_exception(recording_failure);
    }
    finish(recording, *source, models, walker, result);
    if (after_failure) {
        std::rethrow_exception(after_failure);
    }
    return result;
}

} // namespace tlsheap::replay
