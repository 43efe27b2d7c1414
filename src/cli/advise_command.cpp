#include "cli/advise_command.h"

#include "analysis/config_advice.h"
#include "analysis/handshake_needs.h"
#include "cli/json_document.h"
#include "cli/number_option.h"
#include "cli/output_file.h"
#include "pipeline/advice_verification.h"
#include "tlsheap/number_format.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/user_error.h"
#include "variants/build_error.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <optional>

namespace tlsheap::cli {

namespace fs = std::filesystem;
namespace meta = trace::meta;
using nlohmann::json;

namespace {

constexpr int kAdviseSchemaVersion = 1;
// --only N: far more proposals than there are buffer macros to propose.
constexpr std::uint64_t kMostProposal = 1000;

struct AdviseOptions {
    std::string trace;
    std::string json;
    bool verify = false;
    std::vector<unsigned> only;
    std::vector<std::string> try_set;
    std::vector<std::string> try_unset;
    pipeline::VerificationSource source;
    bool quiet = false;
};

std::string signed_delta(std::uint64_t from, std::uint64_t to) {
    return signed_grouped(static_cast<std::int64_t>(to) - static_cast<std::int64_t>(from));
}

std::string with_delta(std::uint64_t from, std::uint64_t to) {
    return fmt::format("{} ({})", grouped(to), signed_delta(from, to));
}

json figures_json(const analysis::HeapFigures& f) {
    return {{"live_peak", f.live_peak},
            {"steady_state", f.steady_state ? json(*f.steady_state) : json(nullptr)},
            {"min_pool", f.min_pool}};
}

json direction_json(const analysis::DirectionNeeds& d) {
    return {{"records", d.records},
            {"wire_bytes", d.wire_bytes},
            {"largest_wire", d.largest_wire},
            {"largest_content", d.largest_content},
            {"largest_what", d.largest_what},
            {"largest_handshake", d.largest_handshake},
            {"largest_handshake_what", d.largest_handshake_what}};
}

void print_direction(const char* label, const analysis::DirectionNeeds& d) {
    if (d.records == 0) {
        fmt::print("  {:<9} no records\n", label);
        return;
    }
    fmt::print("  {:<9} {} records, {} B; largest {} B on the wire, at most {} B of {}\n", label,
               d.records, grouped(d.wire_bytes), grouped(d.largest_wire),
               grouped(d.largest_content), d.largest_what);
    if (d.largest_handshake > 0)
        fmt::print("  {:<9} largest handshake message {} B ({})\n", "",
                   grouped(d.largest_handshake), d.largest_handshake_what);
}

void print_needs(const analysis::HandshakeNeeds& n, const analysis::Advice& a) {
    fmt::print("tlsheap advise: {}\n", n.trace_path);
    fmt::print("  scenario {}, {} side against the {} peer; mbedTLS {}, ABI {}\n",
               n.meta_value(meta::kScenarioName), n.side, n.meta_value(meta::kPeer),
               n.meta_value(meta::kMbedtlsVersion), n.meta_value(meta::kAbi));
    fmt::print("  config: {}\n", n.meta_value(meta::kConfigLabel));
    fmt::print("  handshake: {} {}\n\n", n.protocol, n.ciphersuite);
    fmt::print("what the handshake needed\n");
    print_direction("received", n.in);
    print_direction("sent", n.out);
    fmt::print("  {:<9} encrypted records: {}\n", "", n.expansion_basis);
    fmt::print("  {:<9} in_buf {} B (IN_CONTENT_LEN {}), out_buf {} B (OUT_CONTENT_LEN {})\n",
               "buffers", grouped(n.in_buffer_len), n.in_content_len, grouped(n.out_buffer_len),
               n.out_content_len);
    bool first = true;
    for (const analysis::ChainNeeds& c : n.chains) {
        std::vector<std::string> der;
        for (const std::uint64_t d : c.der)
            der.push_back(grouped(d));
        // Counted by their DER copies, which a library without debug
        // information does not name.
        const std::string count = n.unnamed_libraries.empty()
                                      ? fmt::format("{} certificate(s)", c.der.size())
                                      : "certificates uncounted";
        fmt::print("  {:<9} {}: {}{}; {} B alive at the peak, {} B after the handshake\n",
                   first ? "chains" : "", c.owner, count,
                   der.empty() ? "" : ", DER " + fmt::format("{}", fmt::join(der, " + ")) + " B",
                   grouped(c.alive_at_peak), grouped(c.alive_after_handshake));
        first = false;
    }
    fmt::print("  {:<9} live peak {} B in {}; steady state {}; mbedtls-pool min pool {} B\n\n",
               "heap", grouped(a.now.live_peak), n.peak_state,
               a.now.steady_state ? grouped(*a.now.steady_state) + " B" : "-",
               grouped(a.now.min_pool));
    fmt::print("alive at the live peak ({} B)\n", grouped(n.live_peak));
    for (const analysis::PeakShare& s : n.alive_at_peak)
        fmt::print("  {:>9}  {:>4} blocks  {}\n", grouped(s.bytes), s.blocks, s.what);
    fmt::print("\n");
}

void print_figure_row(const char* label, std::uint64_t now, std::optional<std::uint64_t> predicted,
                      const pipeline::Verification* v, std::optional<std::uint64_t> measured) {
    std::string predicted_text = predicted ? with_delta(now, *predicted) : "-";
    std::string measured_text;
    if (v != nullptr && v->status == "ok") {
        measured_text = measured ? with_delta(now, *measured) : "-";
        if (predicted && measured)
            measured_text += *predicted == *measured
                                 ? "  as predicted"
                                 : "  " + signed_delta(*predicted, *measured) + " vs predicted";
    }
    fmt::print("     {:<14} {:>9}  {:<22} {}\n", label, grouped(now), predicted_text,
               measured_text);
}

void print_proposal(unsigned id, const analysis::Proposal& p, const analysis::HeapFigures& now,
                    const pipeline::Verification* v) {
    std::vector<std::string> changes;
    for (const analysis::ConfigChange& c : p.changes)
        changes.push_back(c.to_string());
    fmt::print("  {}. {}\n     {}\n     why: {}\n", id, p.title, fmt::join(changes, " "), p.why);
    if (p.predicted && !p.accuracy.empty())
        fmt::print("     prediction: {}\n", p.accuracy);
    if (!p.predicted_break.empty())
        fmt::print("     predicted: breaks the handshake: {}\n", p.predicted_break);
    else if (!p.not_predicted.empty())
        fmt::print("     predicted: {}\n", p.not_predicted);
    if (v != nullptr && v->status != "ok") {
        const std::string what = v->status == "handshake_failed" ? "breaks the handshake"
                                 : v->status == "build_failed"   ? "does not build"
                                 : v->status == "config_refused" ? "cannot run the scenario"
                                                                 : "could not be recorded";
        fmt::print("     measured: {}: {}{}\n", what, v->error,
                   v->failed_state.empty() ? "" : " (in " + v->failed_state + ")");
    }
    if (p.predicted || (v != nullptr && v->measured)) {
        fmt::print("     {:<14} {:>9}  {:<22} {}\n", "", "now", "predicted",
                   v != nullptr ? "measured" : "");
        using Figure = std::optional<std::uint64_t>;
        const std::optional<analysis::HeapFigures>& pr = p.predicted;
        const std::optional<analysis::HeapFigures> me = v != nullptr ? v->measured : std::nullopt;
        print_figure_row("live peak", now.live_peak, pr ? Figure(pr->live_peak) : std::nullopt, v,
                         me ? Figure(me->live_peak) : std::nullopt);
        if (now.steady_state)
            print_figure_row("steady state", *now.steady_state,
                             pr ? pr->steady_state : std::nullopt, v,
                             me ? me->steady_state : std::nullopt);
        print_figure_row("min pool", now.min_pool, pr ? Figure(pr->min_pool) : std::nullopt, v,
                         me ? Figure(me->min_pool) : std::nullopt);
    }
    fmt::print("\n");
}

int run_advise(const AdviseOptions& o) {
    if (o.trace != trace::kStandardInput && !fs::exists(o.trace))
        throw UserError("trace " + o.trace + " does not exist", kExitBadInput);
    refuse_overwriting_inputs("--json", o.json, {o.trace});
    reserve_stdout_for_json(o.json);
    std::vector<analysis::ConfigChange> try_changes;
    try {
        for (const std::string& s : o.try_set) {
            const build::ConfigDelta d = build::ConfigDelta::parse_set(s);
            try_changes.push_back({true, d.name, d.value});
        }
        for (const std::string& u : o.try_unset) {
            const build::ConfigDelta d = build::ConfigDelta::parse_unset(u);
            try_changes.push_back({false, d.name, ""});
        }
    } catch (const build::BuildError& e) {
        throw UserError(e.what(), kExitBadInput);
    }

    const analysis::HandshakeNeeds needs = analysis::analyze_handshake(o.trace);
    if (!needs.truncation.empty())
        throw UserError(needs.truncation + "; advise needs the whole recording", kExitBadInput);
    if (!needs.handshake_ok)
        throw UserError("the recorded handshake did not complete" +
                            (needs.failure.empty() ? std::string() : " (" + needs.failure + ")") +
                            "; advise needs a trace of one that did",
                        kExitBadInput);
    if (needs.in.records == 0 && needs.out.records == 0)
        throw UserError("the trace has no TLS records (recorded without the transport tap)",
                        kExitBadInput);
    if (o.verify)
        pipeline::check_verification_source(needs, o.source);
    pipeline::check_try_names(needs, o.source, o.try_set, o.try_unset, o.verify);
    const analysis::Advice advice = analysis::advise(needs, try_changes);
    for (const unsigned id : o.only)
        if (id == 0 || id > advice.proposals.size())
            throw UserError(
                fmt::format("--only {}: there are {} proposals", id, advice.proposals.size()),
                kExitBadInput);

    std::vector<std::optional<pipeline::Verification>> verified(advice.proposals.size());
    if (o.verify && !advice.proposals.empty()) {
        pipeline::AdviceVerifier verifier(needs, o.source, [&o](const std::string& m) {
            if (!o.quiet)
                std::fprintf(stderr, "tlsheap: %s\n", m.c_str());
        });
        for (std::size_t i = 0; i < advice.proposals.size(); ++i) {
            // --only picks among tlsheap's proposals; yours is always measured.
            if (!o.only.empty() && !advice.proposals[i].user &&
                std::find(o.only.begin(), o.only.end(), i + 1) == o.only.end())
                continue;
            if (!o.quiet)
                std::fprintf(stderr, "tlsheap: verifying proposal %zu: %s\n", i + 1,
                             advice.proposals[i].title.c_str());
            verified[i] = verifier.verify(advice.proposals[i]);
        }
    }

    print_needs(needs, advice);
    if (advice.proposals.empty()) {
        fmt::print("no proposals: this config already fits the handshake\n\n");
    } else {
        fmt::print("proposals (predicted: this trace replayed as the changed config would "
                   "allocate{})\n",
                   o.verify ? "; measured: rebuilt and re-run" : "; --verify measures");
        for (std::size_t i = 0; i < advice.proposals.size(); ++i)
            print_proposal(static_cast<unsigned>(i + 1), advice.proposals[i], advice.now,
                           verified[i] ? &*verified[i] : nullptr);
    }
    if (!advice.notes.empty()) {
        fmt::print("not proposed\n");
        for (const std::string& note : advice.notes)
            fmt::print("  - {}\n", note);
    }

    std::vector<std::string> broken;
    json proposals = json::array();
    for (std::size_t i = 0; i < advice.proposals.size(); ++i) {
        const analysis::Proposal& p = advice.proposals[i];
        json changes = json::array();
        for (const analysis::ConfigChange& c : p.changes)
            changes.push_back(c.to_string());
        json verification = nullptr;
        if (verified[i]) {
            const pipeline::Verification& v = *verified[i];
            if (v.status != "ok")
                broken.push_back(
                    fmt::format("{} {}{}", i + 1, v.status,
                                v.failed_state.empty() ? "" : " in " + v.failed_state));
            verification = {{"status", v.status},
                            {"error", v.error},
                            {"failed_state", v.failed_state},
                            {"config", v.config_label},
                            {"measured", v.measured ? figures_json(*v.measured) : json(nullptr)}};
        }
        proposals.push_back(
            {{"id", i + 1},
             {"title", p.title},
             {"changes", changes},
             {"why", p.why},
             {"user", p.user},
             {"transform", p.transform.empty() ? json(nullptr) : json(p.transform)},
             {"accuracy", p.accuracy},
             {"predicted", p.predicted ? figures_json(*p.predicted) : json(nullptr)},
             {"predicted_break",
              p.predicted_break.empty() ? json(nullptr) : json(p.predicted_break)},
             {"not_predicted", p.not_predicted.empty() ? json(nullptr) : json(p.not_predicted)},
             {"verification", verification}});
    }
    if (!o.json.empty()) {
        json chains = json::array();
        for (const analysis::ChainNeeds& c : needs.chains)
            chains.push_back({{"owner", c.owner},
                              {"der", c.der},
                              {"alive_at_peak", c.alive_at_peak},
                              {"alive_after_handshake", c.alive_after_handshake}});
        json peak = json::array();
        for (const analysis::PeakShare& s : needs.alive_at_peak)
            peak.push_back({{"what", s.what}, {"bytes", s.bytes}, {"blocks", s.blocks}});
        const json document = {
            {"schema_version", kAdviseSchemaVersion},
            {"kind", "tlsheap.advise"},
            {"trace", o.trace},
            {"scenario", needs.meta_value(meta::kScenarioName)},
            {"side", needs.side},
            {"peer", needs.meta_value(meta::kPeer)},
            {"mbedtls_version", needs.meta_value(meta::kMbedtlsVersion)},
            {"abi", needs.meta_value(meta::kAbi)},
            {"config", needs.meta_value(meta::kConfigLabel)},
            {"protocol", needs.protocol},
            {"ciphersuite", needs.ciphersuite},
            {"needs",
             {{"received", direction_json(needs.in)},
              {"sent", direction_json(needs.out)},
              {"expansion", {{"bytes", needs.expansion}, {"basis", needs.expansion_basis}}},
              {"buffers",
               {{"in_content_len", needs.in_content_len},
                {"out_content_len", needs.out_content_len},
                {"in_buffer_len", needs.in_buffer_len},
                {"out_buffer_len", needs.out_buffer_len}}},
              {"chains", chains},
              {"peak_state", needs.peak_state},
              {"alive_at_peak", peak}}},
            {"now", figures_json(advice.now)},
            {"proposals", proposals},
            {"notes", advice.notes}};
        write_document(o.json, document, "tlsheap");
    }
    if (!broken.empty())
        throw UserError(fmt::format("not every proposal survived verification: {} (see above)",
                                    fmt::join(broken, ", ")),
                        kExitFailed);
    return kExitOk;
}

} // namespace

void add_advise_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<AdviseOptions>();
    CLI::App* cmd = app.add_subcommand(
        "advise", "Propose config changes that fit a recorded handshake tighter, with predicted "
                  "savings (--verify rebuilds and measures them)");
    cmd->add_option("trace", o->trace, "trace file (tlsheap profile --trace)")->required();
    cmd->add_flag("--verify", o->verify,
                  "rebuild with each proposal, re-run the scenario, print predicted against "
                  "measured (exit 1 if one breaks the handshake)");
    whole_number_option(cmd->add_option("--only", o->only,
                                        "verify only these of tlsheap's proposals (numbers, "
                                        "repeatable; --try-set/--try-unset are always verified)")
                            ->delimiter(','),
                        1, kMostProposal);
    cmd->add_option("--try-set", o->try_set,
                    "NAME[=VALUE]: one more proposal of your own (repeatable, with --try-unset)");
    cmd->add_option("--try-unset", o->try_unset, "NAME: part of your own proposal");
    cmd->add_option("--config", o->source.config,
                    "config.h to verify from (needed when the trace was built from a config "
                    "file: tlsheap compiles no file a trace names)");
    cmd->add_option("--mbedtls", o->source.mbedtls,
                    "mbedTLS tree to verify with (default: the trace's when it is 3.6 or 2.28 "
                    "in the cache)");
    cmd->add_option("--json", o->json,
                    "write the advice as JSON to FILE (-: stdout, the report then on stderr)")
        ->check(output_file());
    step_timeout_option(cmd->add_option("--timeout", o->source.timeout_seconds,
                                        "seconds to wait for the peer at every step"))
        ->capture_default_str();
    jobs_option(
        cmd->add_option("-j,--jobs", o->source.jobs, "parallel compilations (default: all cores)"));
    cmd->add_flag("-q,--quiet", o->quiet, "no progress messages");
    cmd->callback([o, &exit_code] { exit_code = run_advise(*o); });
}

} // namespace tlsheap::cli
