// libFuzzer harness: bytes as a trace, read and replayed the way `profile`,
// `replay`, `minpool` and `compare` do, through one allocator model of the
// catalog: as recorded (with the model's min pool search), on a small pool
// with every invariant checked after every event, or through one of the
// buffer-scheme transforms; the verified replay is also written in every
// viewer's format (`trace export --format folded|massif|chrome-trace|pprof`)
// and as the HTML report's page (`report TRACE --html`).
// Rejected input must be a TraceError, ModelError or TransformError; anything
// else (a crash, a sanitizer report, another exception) is a finding.
#include "report/chrome_trace.h"
#include "report/folded_stacks.h"
#include "report/html_report.h"
#include "report/massif_file.h"
#include "report/pprof_profile.h"
#include "tlsheap/allocator_model.h"
#include "tlsheap/profile_trace.h"
#include "tlsheap/record_source.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/transform.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace tlsheap;

// A source that owns the reader of its own copy of the input.
class BytesSource final : public replay::RecordSource {
  public:
    explicit BytesSource(std::vector<unsigned char> bytes)
        : reader_(trace::TraceReader::from_bytes(std::move(bytes), "fuzz.trace")) {}
    bool next(trace::Record& out) override { return reader_->next(out); }
    bool complete() const override { return reader_->complete(); }
    bool truncated() const override { return reader_->truncated(); }
    std::string truncation_message() const override { return reader_->truncation_message(); }

  private:
    std::unique_ptr<trace::TraceReader> reader_;
};

// Every model of the catalog with its defaults, and the options that change
// its layout most.
std::vector<replay::ModelSpec> every_model() {
    std::vector<replay::ModelSpec> specs;
    for (const replay::ModelInfo& info : replay::model_catalog())
        specs.push_back(replay::ModelSpec::parse(info.name));
    for (const char* variant :
         {"mbedtls-pool:backtrace=on,align=16,ptr=8", "esp-tlsf:idf=5.1", "umm:fit=first"})
        specs.push_back(replay::ModelSpec::parse(variant));
    return specs;
}

// What profile, minpool and compare do with a trace: one replay through
// every model, each model's min pool search, the connection costs.
void profile(const std::vector<unsigned char>& bytes,
             const std::vector<replay::ModelSpec>& models) {
    replay::ReplayOptions options;
    options.models = models;
    options.series_points = 16;
    replay::profile_trace([&] { return std::make_unique<BytesSource>(bytes); }, options);
}

// Every model's invariants checked after every event, on a small pool so
// that allocations fail too, with the device's heap figures.
void replay_verified(const std::vector<unsigned char>& bytes,
                     const std::vector<replay::ModelSpec>& models) {
    replay::ReplayOptions options;
    options.models = models;
    options.series_points = 16;
    options.pool_size = 16 * 1024;
    options.verify_every_event = true;
    options.stack_tables = true;
    BytesSource source(bytes);
    const replay::ReplayResult result = replay::replay_trace(source, options);
    report::folded_lines(result.info, result.stacks_alive_at_peak);
    report::folded_lines(result.info, result.stacks_allocated);
    std::ostringstream massif;
    report::write_massif(massif, result, {"fuzz.trace", "fuzz", 0});
    {
        auto reader = trace::TraceReader::from_bytes(bytes, "fuzz.trace");
        trace::TraceWalker walker;
        std::ostringstream chrome;
        report::ChromeTraceWriter writer(chrome, walker, result);
        walker.walk(*reader, writer);
        writer.finish();
    }
    auto reader = trace::TraceReader::from_bytes(bytes, "fuzz.trace");
    trace::TraceWalker walker;
    report::PprofProfileBuilder builder(walker, result.live_peak.at.seq);
    walker.walk(*reader, builder);
    builder.gzipped(result.duration_ns);
    report::html_page(
        "fuzz", "profile",
        nlohmann::json::array({report::html_trace_view(
            "fuzz", nlohmann::json::object(), [&] { return std::make_unique<BytesSource>(bytes); },
            models, options.pool_size)}));
}

void replay_transformed(const std::vector<unsigned char>& bytes,
                        const std::vector<replay::ModelSpec>& models,
                        const replay::TransformInfo& transform) {
    replay::ReplayOptions options;
    options.models = models;
    options.series_points = 16;
    auto source = replay::make_transform(replay::TransformSpec::parse(transform.name),
                                         std::make_unique<BytesSource>(bytes));
    replay::replay_trace(*source, options);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::vector<replay::ModelSpec> models = every_model();
    static const std::vector<replay::TransformInfo> transforms = replay::transform_catalog();
    const std::vector<unsigned char> bytes(data, data + size);
    // Each input takes one of the paths, chosen by its length, so that the
    // corpus stays plain traces (a crashing input is a trace to replay with
    // tlsheap). The profile path searches the model's min pool, some twenty
    // replays: it gets one input in 16, so that the time goes evenly to the
    // paths, not 90% to one. The model is chosen the same way: one model per
    // input is ten times the inputs per second of all of them, and the corpus
    // reaches every model.
    constexpr std::size_t kSlots = 16;
    const std::size_t slot = size % kSlots;
    const std::vector<replay::ModelSpec> model = {models[size / kSlots % models.size()]};
    try {
        if (slot == 0)
            profile(bytes, model);
        else if (slot < 4)
            replay_verified(bytes, model);
        else
            replay_transformed(bytes, model, transforms[(slot - 4) % transforms.size()]);
    } catch (const trace::TraceError&) {
    } catch (const replay::ModelError&) {
    } catch (const replay::TransformError&) {
    }
    return 0;
}
