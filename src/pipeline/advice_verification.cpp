#include "pipeline/advice_verification.h"

#include "orchestration/scenario_requirements.h"
#include "pipeline/source_tree.h"
#include "tlsheap/connection_lifecycle.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/user_error.h"
#include "variants/build_error.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <optional>
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

VerifyBase verify_base(const analysis::HandshakeNeeds& n, const VerificationSource& o) {
    VerifyBase base;
    if (!o.config.empty()) {
        if (!fs::exists(o.config))
            throw UserError("config " + o.config + " does not exist", kExitBadInput);
        base.config_file = o.config;
        return base;
    }
    if (n.meta.count(meta::kConfigDeltas) != 0) {
        base.config_file = n.meta_value(meta::kConfigBaseFile);
        if (!base.config_file.empty() && !fs::exists(base.config_file))
            throw UserError("the trace's config " + base.config_file +
                                " is gone; give the config to rebuild with --config",
                            kExitBadInput);
        std::istringstream in(n.meta_value(meta::kConfigDeltas));
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("--set ", 0) == 0)
                base.set.push_back(line.substr(6));
            else if (line.rfind("--unset ", 0) == 0)
                base.unset.push_back(line.substr(8));
        }
        return base;
    }
    // Traces from before config.deltas was recorded: the config as built.
    base.config_file = n.meta_value(meta::kConfigEffectiveFile);
    if (base.config_file.empty() || !fs::exists(base.config_file))
        throw UserError("the trace does not say which config it was built with any more; give "
                        "it with --config",
                        kExitBadInput);
    return base;
}

} // namespace

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
        config_file = verify_base(n, o).config_file;
        session.emplace(o.mbedtls.empty() ? n.meta_value(meta::kMbedtlsTree) : o.mbedtls, 1,
                        nullptr);
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
          session_(o.mbedtls.empty() ? n.meta_value(meta::kMbedtlsTree) : o.mbedtls,
                   o.jobs != 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency()),
                   std::move(progress)) {
        const std::string peer = n.meta_value(meta::kPeer);
        if (peer == "external" || peer.empty())
            throw UserError("the trace was recorded against a server tlsheap did not start "
                            "(--connect); --verify re-runs scenarios against local peers only",
                            kExitBadInput);
        try {
            scenario_ = record::load_scenario(n.meta_value(meta::kScenarioName), scenario_dir());
        } catch (const record::ScenarioError& e) {
            throw UserError(std::string("cannot re-run the trace's scenario: ") + e.what(),
                            kExitBadInput);
        }
        settings_.run.side = n.side;
        settings_.run.peer = peer;
        settings_.run.timeout_seconds = o.timeout_seconds;
        settings_.models = {"mbedtls-pool"};
        same_lifecycle(n);
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
