// The replay engine: one walk over the trace, each event handed to the
// recording's statistics, the allocator models and the time series.
#include "tlsheap/replay_engine.h"

#include "cycle_table.h"
#include "model_driver.h"
#include "real_pool_check.h"
#include "recording_statistics.h"
#include "resumption_statistics.h"
#include "time_series.h"
#include "tlsheap/allocation_stream.h"
#include "tlsheap/trace_walker.h"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace tlsheap::replay {

namespace {

using trace::FreeKind;
using trace::LiveAllocation;
using trace::Record;

// A client of the trace walker that hands every event to the recording's
// statistics, the allocator models and the time series.
class Engine final : public trace::WalkerHooks {
  public:
    Engine(const ReplayOptions& options, ReplayResult& result)
        : result_(result), statistics_(walker_, options, result), resumption_(walker_),
          models_(options, real_pool_),
          series_(options.series_points, options.pool_size.has_value()),
          cycles_(options.pool_size.has_value() && options.heap_verdicts) {}

    // Also keeps the allocation stream of the walk, for replays that follow.
    void keep_stream(AllocationStream& stream, std::uint64_t trace_bytes) {
        stream_.emplace(walker_, stream);
        stream_->expect_trace_bytes(trace_bytes);
    }
    // Also hands every event to `also`, after the engine.
    void feed_also(trace::WalkerHooks* also) { also_ = also; }

    void run(RecordSource& reader) {
        walker_.walk(reader, *this);
        ensure_models();
        if (stream_) {
            stream_->finish();
        }
        finish(reader);
    }

  private:
    Moment moment(const Record& r) const {
        Moment m;
        m.seq = r.seq;
        m.time_ns = r.time_ns;
        m.phase = walker_.phase();
        m.state = walker_.state();
        m.stack = r.stack;
        m.connection = walker_.connection();
        return m;
    }

    // Models are built at the first event (see ModelDriver::start).
    void ensure_models() {
        if (models_.started()) {
            return;
        }
        models_.start(walker_.info());
        series_.start(models_.model_count());
    }

    void on_description(const Record& r) override {
        real_pool_.on_description(r);
        if (also_ != nullptr) {
            also_->on_description(r);
        }
    }

    void on_alloc(const Record& r, const LiveAllocation* block, std::uint32_t slot) override {
        on_alloc_in_engine(r, block, slot);
        if (also_ != nullptr) {
            also_->on_alloc(r, block, slot);
        }
    }

    void on_alloc_in_engine(const Record& r, const LiveAllocation* block, std::uint32_t slot) {
        ensure_models();
        if (stream_) {
            stream_->on_alloc(r, block, slot);
        }
        statistics_.count_event(r);
        resumption_.on_alloc(block);
        const Moment m = moment(r);
        series_.begin_event(r.seq, models_);
        const std::uint64_t bytes = r.count * r.size;
        const bool overflow = r.size != 0 && bytes / r.size != r.count;
        if (block == nullptr) {
            // The recorded allocator said NULL: nothing was allocated.
            statistics_.on_null_alloc(m, bytes, overflow);
            series_.end_event(r.seq, walker_.live_bytes(), models_);
            cycles_.observe(r, walker_, models_);
            return;
        }
        statistics_.on_alloc(r.stack, bytes, overflow);
        if (bytes == 0 || overflow) {
            // On an embedded heap an empty request returns NULL: no model places it.
            models_.place_nowhere(slot, walker_.slot_capacity());
        } else {
            const std::uint64_t* placed =
                models_.allocate(r, bytes, m, slot, walker_.slot_capacity());
            for (std::size_t i = 0; i < models_.model_count(); ++i) {
                if (placed[i] != ModelDriver::kNotPlaced) {
                    series_.note_used(i, models_.model(i).used_bytes());
                }
            }
        }
        if (statistics_.note_live(m)) {
            models_.note_live_peak();
        }
        series_.end_event(r.seq, walker_.live_bytes(), models_);
        cycles_.observe(r, walker_, models_);
    }

    void on_free(const Record& r, FreeKind kind, const LiveAllocation* block,
                 std::uint32_t slot) override {
        ensure_models();
        if (stream_) {
            stream_->on_free(r, kind, block, slot);
        }
        statistics_.count_event(r);
        const Moment m = moment(r);
        statistics_.on_free(r, kind, block, m);
        series_.begin_event(r.seq, models_);
        if (kind == FreeKind::Known) {
            models_.release(slot, m);
        }
        series_.end_event(r.seq, walker_.live_bytes(), models_);
        cycles_.observe(r, walker_, models_);
        if (also_ != nullptr) {
            also_->on_free(r, kind, block, slot);
        }
    }

    void on_phase(const Record& r, Phase previous) override {
        statistics_.on_phase(r, previous);
        resumption_.on_phase();
        models_.end_phase(previous);
        if (previous == Phase::Handshake && r.phase == Phase::Application) {
            models_.note_handshake_done();
        }
        cycles_.observe(r, walker_, models_);
        if (also_ != nullptr) {
            also_->on_phase(r, previous);
        }
    }

    // Cycles begin and end where the connection changes. Models are not
    // built here: a cycle closed before the first allocation has no model
    // figures, and the models keep being built at the first event.
    void on_connection(const Record& r, std::uint32_t previous) override {
        cycles_.observe(r, walker_, models_);
        if (also_ != nullptr) {
            also_->on_connection(r, previous);
        }
    }

    void on_context(const Record& r) override {
        statistics_.on_context(r);
        cycles_.observe(r, walker_, models_);
        resumption_.on_context(r);
        if (also_ != nullptr) {
            also_->on_context(r);
        }
    }

    void finish(RecordSource& reader) {
        result_.series = series_.finish(models_);
        statistics_.finish(reader);
        result_.resumption = resumption_.finish();
        models_.end_phase(walker_.phase());
        cycles_.finish(walker_, models_, result_.cycles);
        models_.finish(result_.models);
        result_.connections = walker_.connection_count() - 1;
        result_.info = walker_.take_info();
    }

    ReplayResult& result_;
    trace::TraceWalker walker_;
    RealPoolCheck real_pool_;
    RecordingStatistics statistics_;
    ResumptionStatistics resumption_;
    ModelDriver models_;
    TimeSeries series_;
    CycleTable cycles_;
    std::optional<AllocationStreamBuilder> stream_;
    trace::WalkerHooks* also_ = nullptr;
};

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
    ReplayResult result;
    Engine engine(options, result);
    engine.run(source);
    return result;
}

ReplayResult replay_trace(RecordSource& source, const ReplayOptions& options,
                          AllocationStream& stream, trace::WalkerHooks* also) {
    ReplayResult result;
    Engine engine(options, result);
    engine.keep_stream(stream, source.size_hint());
    engine.feed_also(also);
    engine.run(source);
    return result;
}

ReplayResult replay_trace(trace::TraceReader& reader, const ReplayOptions& options) {
    TraceReaderSource source(reader);
    return replay_trace(source, options);
}

} // namespace tlsheap::replay
