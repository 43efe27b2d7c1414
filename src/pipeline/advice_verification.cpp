#include "pipeline/advice_verification.h"

#include "orchestration/scenario.h"
#include "orchestration/scenario_requirements.h"
#include "pipeline/tool_files.h"
#include "tlsheap/connection_lifecycle.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/user_error.h"
#include "variants/build_error.h"
#include "variants/cache_directory.h"
#include "variants/config_file.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace tlsheap::pipeline {

namespace fs = std::filesystem;
namespace meta = trace::meta;

// The config `--verify` starts from, and the deltas the trace was recorded with.
struct VerifyBase {
    std::string config_file; // "" : the tree's default
    std::vector<std::string> set;
    std::vector<std::string> unset;
};

namespace {

// A name from the trace, for a one-line message.
std::string printable(std::string text) {
    std::replace_if(
        text.begin(), text.end(),
        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, '?');
    return text;
}

// The trace's own deltas. They go into the header --verify compiles, so none
// may name a file to include (MBEDTLS_USER_CONFIG_FILE and the like).
void add_trace_deltas(const analysis::HandshakeNeeds& n, VerifyBase& base) {
    std::istringstream in(n.meta_value(meta::kConfigDeltas));
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("--set ", 0) == 0)
            base.set.push_back(line.substr(6));
        else if (line.rfind("--unset ", 0) == 0)
            base.unset.push_back(line.substr(8));
    }
    for (const std::string& s : base.set) {
        const std::string name = s.substr(0, s.find('='));
        if (name.ends_with("_FILE"))
            throw UserError("the trace's config sets " + printable(name) +
                                ", which names a file to compile; --verify rebuilds from a "
                                "config you give with --config only",
                            kExitBadInput);
    }
}

bool same_file(const std::string& a, const std::string& b) {
    std::error_code ec;
    return fs::equivalent(a, b, ec);
}

// A trace comes from anyone (a CI artifact of a fork, a bug report), and
// --verify compiles what it rebuilds from: only the tree's default config
// or one the user names with --config, never a file the trace names.
VerifyBase verify_base(const analysis::HandshakeNeeds& n, const VerificationSource& o) {
    VerifyBase base;
    const bool has_deltas = n.meta.count(meta::kConfigDeltas) != 0;
    const std::string& recorded = n.meta_value(meta::kConfigBaseFile);
    if (!o.config.empty()) {
        try {
            build::check_config_file(o.config);
        } catch (const build::BuildError& e) {
            throw UserError(e.what(), kExitBadInput);
        }
        base.config_file = o.config;
        // The config the trace was built from: with the trace's deltas again.
        if (has_deltas && !recorded.empty() && same_file(o.config, recorded))
            add_trace_deltas(n, base);
        return base;
    }
    if (!has_deltas)
        // Traces from before config.deltas was recorded name only the config as built.
        throw UserError("the trace does not say which config it was built from; give it with "
                        "--config",
                        kExitBadInput);
    if (!recorded.empty())
        throw UserError("the trace was built from config " + printable(recorded) +
                            "; --verify compiles a config only when you name it: add --config "
                            "FILE",
                        kExitBadInput);
    add_trace_deltas(n, base);
    return base;
}

// "3.6" or "2.28" when the trace was recorded with that fetched tree: in
// tlsheap's cache on any machine ("<cache>/mbedtls/3.6"), or in this
// machine's cache (traces from before paths were written portably).
std::optional<std::string> fetched_tree_of(const std::string& recorded) {
    const fs::path fetched = build::default_cache_directory() / "mbedtls";
    for (const char* name : {"3.6", "2.28"})
        if (recorded == std::string(meta::kCachePath) + "/mbedtls/" + name ||
            recorded == (fetched / name).string() || same_file(recorded, (fetched / name).string()))
            return name;
    return std::nullopt;
}

// The mbedTLS tree --verify compiles: the user's --mbedtls, or the trace's
// when it is one of tlsheap's fetched trees (3.6, 2.28).
std::string verify_tree(const analysis::HandshakeNeeds& n, const VerificationSource& o) {
    if (!o.mbedtls.empty())
        return o.mbedtls;
    const std::string& recorded = n.meta_value(meta::kMbedtlsTree);
    if (const auto name = fetched_tree_of(recorded))
        return *name;
    throw UserError("the trace was recorded with the mbedTLS tree " + printable(recorded) +
                        "; --verify compiles a tree only when you name it: add --mbedtls DIR",
                    kExitBadInput);
}

} // namespace

void check_verification_source(const analysis::HandshakeNeeds& needs,
                               const VerificationSource& source) {
    verify_base(needs, source);
    verify_tree(needs, source);
}

// A typo in --try-set is bad input, as it is in profile --set: the names are
// checked against the tree the trace was recorded with, when it is here
// (without --verify a trace from elsewhere is still advised on).
void check_try_names(const analysis::HandshakeNeeds& n, const VerificationSource& o,
                     const std::vector<std::string>& try_set,
                     const std::vector<std::string>& try_unset, bool verify) {
    if (try_set.empty() && try_unset.empty())
        return;
    std::optional<ProfileSession> session;
    std::string config_file;
    try {
        if (verify) {
            config_file = verify_base(n, o).config_file;
            session.emplace(verify_tree(n, o), 1, nullptr);
        } else {
            // Only read for macro names, never compiled.
            config_file = o.config.empty() ? n.meta_value(meta::kConfigBaseFile) : o.config;
            if (!config_file.empty())
                try {
                    build::check_config_file(config_file);
                } catch (const build::BuildError&) {
                    config_file.clear();
                }
            const std::string& recorded = n.meta_value(meta::kMbedtlsTree);
            session.emplace(o.mbedtls.empty() ? fetched_tree_of(recorded).value_or(recorded)
                                              : o.mbedtls,
                            1, nullptr);
        }
    } catch (const UserError&) {
        if (verify)
            throw;
        return;
    }
    session->parse_deltas(try_set, try_unset, config_file);
}

class AdviceVerifier::Impl {
  public:
    Impl(const analysis::HandshakeNeeds& n, const VerificationSource& o,
         ProfileSession::Progress progress)
        : n_(n), base_(verify_base(n, o)),
          session_(verify_tree(n, o),
                   o.jobs != 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency()),
                   std::move(progress)) {
        const std::string peer = n.meta_value(meta::kPeer);
        if (peer == "external" || peer.empty())
            throw UserError("the trace was recorded against a server tlsheap did not start "
                            "(--connect); --verify re-runs scenarios against local peers only",
                            kExitBadInput);
        // tlsheap's own scenario of that name: never a path the trace names.
        const std::string& scenario = n.meta_value(meta::kScenarioName);
        if (!record::is_plain_scenario_name(scenario))
            throw UserError("the trace's scenario name '" + printable(scenario) +
                                "' is not a plain name; --verify re-runs tlsheap's scenarios only",
                            kExitBadInput);
        try {
            scenario_ = record::load_scenario(scenario, scenario_dir());
        } catch (const record::ScenarioError& e) {
            throw UserError(std::string("cannot re-run the trace's scenario: ") + e.what(),
                            kExitBadInput);
        }
        settings_.run.side = n.side;
        settings_.run.peer = peer;
        settings_.run.timeout_seconds = o.timeout_seconds;
        settings_.models = {"mbedtls-pool"};
        same_lifecycle(n);
        match_recorded_config(n, !o.config.empty());
        session_.resolve_peer(settings_, scenario_);
    }

    Verification verify(const analysis::Proposal& p) {
        Verification v;
        std::vector<std::string> set;
        std::vector<std::string> unset;
        const auto changed = [&](const std::string& name) {
            return std::any_of(p.changes.begin(), p.changes.end(),
                               [&](const analysis::ConfigChange& c) { return c.name == name; });
        };
        const auto name_of = [](const std::string& d) { return d.substr(0, d.find('=')); };
        for (const std::string& s : base_.set)
            if (!changed(name_of(s)))
                set.push_back(s);
        for (const std::string& u : base_.unset)
            if (!changed(u))
                unset.push_back(u);
        for (const analysis::ConfigChange& c : p.changes) {
            if (c.set)
                set.push_back(c.value.empty() ? c.name : c.name + "=" + c.value);
            else
                unset.push_back(c.name);
        }
        VariantProfile profile;
        profile.abi = n_.meta_value(meta::kAbi);
        try {
            const auto deltas = session_.parse_deltas(set, unset, base_.config_file);
            profile.prepared = session_.prepare(base_.config_file, deltas, profile.abi,
                                                n_.meta_value(meta::kStackBackend), false);
            v.config_label = portable_config_label(profile.prepared);
            const record::Side side = meta::recorder_side(n_.side);
            if (const std::string missing =
                    record::missing_requirement(scenario_, side, profile.prepared.macros);
                !missing.empty()) {
                v.status = "config_refused";
                v.error = "the config lacks " + missing + ", which the scenario needs";
                return v;
            }
            profile.variant = session_.build(profile.prepared);
        } catch (const build::BuildError& e) {
            v.status = "build_failed";
            v.error = e.what();
            return v;
        }
        try {
            session_.record(settings_, scenario_, profile);
        } catch (const UserError& e) {
            v.status = "record_failed";
            v.error = e.what();
            return v;
        }
        if (profile.status != kExitOk) {
            v.status = "handshake_failed";
            v.error = profile.error;
            v.failed_state = profile.failed_state;
            return v;
        }
        v.status = "ok";
        analysis::HeapFigures m;
        m.live_peak = profile.result.live_peak.bytes;
        m.steady_state = profile.result.live_after_handshake;
        m.min_pool = profile.result.min_pools["mbedtls-pool"];
        v.measured = m;
        return v;
    }

  private:
    // Each proposal is measured on the base config plus the proposal, and
    // set against the trace's figures: the base must be the config the trace
    // was recorded with (its effective macros are in the trace), or every
    // verified saving would compare two different handshakes. A --config at
    // another path with the same content still gets the trace's deltas.
    void match_recorded_config(const analysis::HandshakeNeeds& n, bool config_given) {
        if (n.config.empty())
            return; // a trace without its config: nothing to match
        const std::string difference = config_difference(n, base_);
        if (difference.empty())
            return;
        if (config_given && base_.set.empty() && base_.unset.empty()) {
            VerifyBase with_deltas = base_;
            add_trace_deltas(n, with_deltas);
            if ((!with_deltas.set.empty() || !with_deltas.unset.empty()) &&
                config_difference(n, with_deltas).empty()) {
                base_ = std::move(with_deltas);
                return;
            }
        }
        throw UserError(fmt::format("{} is not the config the trace was recorded with: {}; "
                                    "--verify would measure another handshake",
                                    base_.config_file.empty()
                                        ? "the default config (with the trace's deltas)"
                                        : "--config " + base_.config_file,
                                    difference),
                        kExitBadInput);
    }

    // "" when the base's effective macros are the trace's; else how many
    // differ and the first of them. The recorder's own additions are left
    // out (a real-pool trace has MBEDTLS_MEMORY_BUFFER_ALLOC_C, --verify
    // measures without it), and so is MBEDTLS_CONFIG_FILE, the path of the
    // effective config in the cache.
    std::string config_difference(const analysis::HandshakeNeeds& n, const VerifyBase& b) {
        const auto deltas = session_.parse_deltas(b.set, b.unset, b.config_file);
        const build::PreparedVariant p =
            session_.prepare(b.config_file, deltas, n.meta_value(meta::kAbi),
                             n.meta_value(meta::kStackBackend), false);
        std::set<std::string> overlay = {"MBEDTLS_CONFIG_FILE"};
        for (const bool real_pool : {false, true})
            for (const build::ConfigDelta& d : build::recorder_overlay(real_pool))
                overlay.insert(d.name);
        std::map<std::string, std::pair<std::string, std::string>> differ;
        const auto& here = p.macros.all();
        for (const auto& [name, value] : n.config)
            if (overlay.count(name) == 0 && (here.count(name) == 0 || here.at(name) != value))
                differ[name] = {value, here.count(name) ? here.at(name) : "undefined"};
        for (const auto& [name, value] : here)
            if (overlay.count(name) == 0 && n.config.count(name) == 0)
                differ[name] = {"undefined", value};
        if (differ.empty())
            return "";
        const auto& [name, values] = *differ.begin();
        const auto shown = [](const std::string& v) {
            return v.empty() ? std::string("defined") : printable(v);
        };
        return fmt::format("{} macro{} differ{}, {} ({} in the trace, {} here)", differ.size(),
                           differ.size() == 1 ? "" : "s", differ.size() == 1 ? "s" : "",
                           printable(name), shown(values.first), shown(values.second));
    }

    // The rebuilt variant runs the connections the trace ran, so that its
    // figures compare with the prediction (a trace is untrusted: bounded).
    void same_lifecycle(const analysis::HandshakeNeeds& n) {
        const auto count = [&](const char* key, unsigned most) -> std::optional<unsigned> {
            const std::string& text = n.meta_value(key);
            if (text.empty())
                return std::nullopt;
            const std::uint64_t value = trace::meta_number(text);
            if (value == 0 || value > most)
                throw UserError(fmt::format("the trace's {} is '{}', not a number from 1 to {}",
                                            key, text, most),
                                kExitBadInput);
            return static_cast<unsigned>(value);
        };
        settings_.run.connections = count(meta::kLifecycleConnections, lifecycle::kMaxConnections);
        settings_.run.reconnects = count(meta::kLifecycleReconnects, lifecycle::kMaxReconnects);
        // Absent: the connections did not resume (or an older recorder).
        const std::string& resume = n.meta_value(meta::kLifecycleResume);
        settings_.run.resume =
            resume.empty() ? lifecycle::Resume::None : lifecycle::resume_from_name(resume);
        if (!settings_.run.resume)
            throw UserError("the trace's " + std::string(meta::kLifecycleResume) + " is '" +
                                resume + "', not session-id or ticket",
                            kExitBadInput);
        const std::string& early_data = n.meta_value(meta::kLifecycleEarlyData);
        if (!early_data.empty() && early_data != meta::kEarlyDataRequest)
            throw UserError("the trace's " + std::string(meta::kLifecycleEarlyData) + " is '" +
                                early_data + "', not " + meta::kEarlyDataRequest,
                            kExitBadInput);
        settings_.run.early_data = !early_data.empty();
        if (const std::string& start = n.meta_value(meta::kLifecycleStart); !start.empty()) {
            settings_.run.start = lifecycle::start_from_name(start);
            if (!settings_.run.start)
                throw UserError("the trace's " + std::string(meta::kLifecycleStart) + " is '" +
                                    start + "', not together or staggered",
                                kExitBadInput);
        }
    }

    const analysis::HandshakeNeeds& n_;
    VerifyBase base_;
    ProfileSession session_;
    record::Scenario scenario_;
    RecordSettings settings_;
};

AdviceVerifier::AdviceVerifier(const analysis::HandshakeNeeds& needs,
                               const VerificationSource& source, ProfileSession::Progress progress)
    : impl_(std::make_unique<Impl>(needs, source, std::move(progress))) {}

AdviceVerifier::~AdviceVerifier() = default;

Verification AdviceVerifier::verify(const analysis::Proposal& proposal) {
    return impl_->verify(proposal);
}

} // namespace tlsheap::pipeline
