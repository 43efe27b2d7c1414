#include "cli/minpool_command.h"

#include "cli/json_document.h"
#include "cli/output_file.h"
#include "pipeline/named_inputs.h"
#include "pipeline/trace_source.h"
#include "tlsheap/allocation_stream.h"
#include "tlsheap/min_pool.h"
#include "tlsheap/number_format.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/trace_walker.h"
#include "tlsheap/transform.h"
#include "tlsheap/user_error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>

namespace tlsheap::cli {

namespace {

struct MinpoolOptions {
    std::string trace;
    std::string transform;
    std::vector<std::string> models = {"mbedtls-pool", "freertos-heap4", "esp-tlsf", "umm",
                                       "ideal"};
    std::string json;
};

// One walk over the recording: its first Failure outcome (the run stopped
// there) and, when the models replay the recording as it is, the allocation
// stream the min-pool search replays them over.
class MinpoolWalk final : public trace::WalkerHooks {
  public:
    MinpoolWalk(const trace::TraceWalker& walker, replay::AllocationStream* stream,
                std::uint64_t trace_bytes) {
        if (stream != nullptr) {
            builder_.emplace(walker, *stream);
            builder_->expect_trace_bytes(trace_bytes);
        }
    }
    void on_alloc(const trace::Record& r, const trace::LiveAllocation* block,
                  std::uint32_t slot) override {
        if (builder_) {
            builder_->on_alloc(r, block, slot);
        }
    }
    void on_free(const trace::Record& r, trace::FreeKind kind, const trace::LiveAllocation* block,
                 std::uint32_t slot) override {
        if (builder_) {
            builder_->on_free(r, kind, block, slot);
        }
    }
    void on_context(const trace::Record& r) override {
        if (r.tag == trace::Tag::Outcome && r.outcome == trace::OutcomeKind::Failure && !failed) {
            failed = true;
            text = r.value;
        }
    }
    void finish() {
        if (builder_) {
            builder_->finish();
        }
    }
    bool failed = false;
    std::string text;

  private:
    std::optional<replay::AllocationStreamBuilder> builder_;
};

int run_minpool(const MinpoolOptions& o) {
    refuse_overwriting_inputs("--json", o.json, {o.trace});
    reserve_stdout_for_json(o.json);
    const std::vector<replay::ModelSpec> specs = pipeline::parse_model_specs(o.models);
    // The trace is decoded once: the same walk finds how the recording ended
    // and keeps the stream the models replay over. A transform rewrites that
    // stream, so it is read once more through the transform. The walk
    // decodes on its own thread: decoding on another, a few batches ahead,
    // took twice the CPU time and wall time (the decoded records crossing
    // between cores cost more than decoding them).
    trace::TraceReader reader(o.trace);
    trace::TraceWalker walker;
    replay::AllocationStream stream;
    MinpoolWalk recording(walker, o.transform.empty() ? &stream : nullptr, reader.size_hint());
    walker.walk(reader, recording);
    recording.finish();
    const trace::TraceInfo& info = walker.info();
    if (walker.events() == 0) {
        throw UserError(o.trace + " has no allocation events: there is no pool to size",
                        kExitBadInput);
    }
    std::vector<replay::MinPoolResult> results;
    try {
        if (!o.transform.empty()) {
            const std::unique_ptr<replay::RecordSource> source =
                pipeline::trace_source(o.trace, o.transform)();
            stream = replay::read_allocation_stream(*source);
        }
        results = replay::find_min_pools(stream, specs);
    } catch (const replay::TransformError& e) {
        throw UserError(e.what(), kExitBadInput);
    }
    std::printf("tlsheap minpool: %s (%s, %s side, mbedTLS %s, %s-byte pointers)\n",
                o.trace.c_str(), info.meta(trace::meta::kScenarioName).c_str(),
                info.meta(trace::meta::kRecorderSide).c_str(),
                info.meta(trace::meta::kMbedtlsVersion).c_str(),
                info.meta(trace::meta::kPointerSize).c_str());
    if (reader.truncated()) {
        std::printf("  warning: %s\n", reader.truncation_message().c_str());
    }
    // A run cut short by a failure says nothing of what the rest would need.
    if (recording.failed) {
        std::printf("  warning: the recording failed part-way (%s): each min pool is a lower "
                    "bound for the whole run\n",
                    recording.text.c_str());
    }
    std::printf("  %-16s %12s  %-22s  %s\n", "model", "min pool", "method", "check");
    nlohmann::json models = nlohmann::json::array();
    int status = kExitOk;
    for (const replay::MinPoolResult& m : results) {
        std::string check;
        if (m.min_pool == 0) {
            check = "does not fit in the largest pool this allocator supports";
            status = kExitFailed;
        } else {
            check = m.runs_at_min_pool ? "runs at " + grouped(m.min_pool)
                                       : "DOES NOT RUN at the answer";
            if (m.fails_below) {
                const replay::ModelFailure& f = *m.fails_below;
                check += fmt::format("; at {} event {} ({} bytes, {}, {}) would get NULL",
                                     grouped(m.min_pool - m.granularity), f.at.seq, grouped(f.size),
                                     f.at.phase == trace::Phase::Handshake
                                         ? info.state_name(f.at.state)
                                         : trace::phase_name(f.at.phase),
                                     info.call_site(f.at.stack).function);
            } else if (m.min_pool > m.granularity) {
                check += fmt::format("; {} also runs (not minimal)",
                                     grouped(m.min_pool - m.granularity));
            }
            if (!m.runs_at_min_pool) {
                status = kExitFailed;
            }
        }
        const std::string method = m.method == "one pass"
                                       ? fmt::format("one pass + {} checks", m.replays - 1)
                                       : fmt::format("search, {} replays", m.replays);
        std::printf("  %-16s %12s  %-22s  %s\n", m.model.c_str(), grouped(m.min_pool).c_str(),
                    method.c_str(), check.c_str());
        nlohmann::json j = {{"name", m.model},         {"description", m.description},
                            {"min_pool", m.min_pool},  {"granularity", m.granularity},
                            {"method", m.method},      {"placement_bound", m.placement_bound},
                            {"replays", m.replays},    {"runs_at_min_pool", m.runs_at_min_pool},
                            {"live_peak", m.live_peak}};
        if (m.fails_below) {
            j["fails_below"] = {{"pool", m.min_pool - m.granularity},
                                {"seq", m.fails_below->at.seq},
                                {"size", m.fails_below->size},
                                {"state", info.state_name(m.fails_below->at.state)},
                                {"phase", trace::phase_name(m.fails_below->at.phase)},
                                {"call_site", info.call_site(m.fails_below->at.stack).label()}};
        }
        models.push_back(j);
    }
    for (const replay::MinPoolResult& m : results) {
        std::printf("  %s: %s\n", m.model.c_str(), m.description.c_str());
    }
    if (!o.json.empty()) {
        write_json_file(o.json, {{"schema_version", 1},
                                 {"kind", "tlsheap.minpool"},
                                 {"trace", o.trace},
                                 {"transform", o.transform},
                                 {"scenario", info.meta(trace::meta::kScenarioName)},
                                 {"pointer_size", info.pointer_size()},
                                 {"recording_failed", recording.failed},
                                 {"models", models}});
    }
    return status;
}

} // namespace

void add_minpool_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<MinpoolOptions>();
    CLI::App* cmd = app.add_subcommand(
        "minpool",
        "Smallest pool in which a trace runs without a failed allocation, per allocator");
    cmd->add_option("trace", o->trace, "trace file")->required();
    cmd->add_option("--model", o->models, "model NAME[:key=value,...] (repeatable)")
        ->capture_default_str();
    cmd->add_option("--json", o->json,
                    "write the result as JSON to FILE (-: stdout, the report then on stderr)")
        ->check(output_file());
    cmd->add_option(
        "--transform", o->transform,
        "as another buffer scheme would allocate: esp-dynamic[:...], axtls-growth[:...]");
    cmd->callback([o, &exit_code] { exit_code = run_minpool(*o); });
}

} // namespace tlsheap::cli
