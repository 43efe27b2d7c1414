// `advise --verify`: each proposal rebuilt as a config and re-run against the
// same peer, so that the predicted figures stand next to measured ones.
#pragma once

#include "analysis/config_advice.h"
#include "analysis/handshake_needs.h"
#include "pipeline/profile_session.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::pipeline {

// What to rebuild with; empty: what the trace says it was recorded with.
struct VerificationSource {
    std::string config;
    std::string mbedtls;
    double timeout_seconds = 10;
    unsigned jobs = 0; // 0: all cores
};

struct Verification {
    std::string status; // ok | handshake_failed | build_failed | config_refused | record_failed
    std::string error;
    std::string failed_state;
    std::string config_label;
    std::optional<analysis::HeapFigures> measured;
};

// Throws UserError (exit 2) unless --verify may compile what it would
// rebuild from: a config and a tree the user names, or the tree's default
// config and tlsheap's fetched trees. A trace is untrusted: a config or a
// tree it names is never compiled on its word alone.
void check_verification_source(const analysis::HandshakeNeeds& needs,
                               const VerificationSource& source);

// Throws UserError (exit 2) when a --try-set/--try-unset name is not one of the
// tree's macros. The tree is the trace's own; when it is not on this machine
// the names go unchecked, unless `verify` needs the tree anyway.
void check_try_names(const analysis::HandshakeNeeds& needs, const VerificationSource& source,
                     const std::vector<std::string>& try_set,
                     const std::vector<std::string>& try_unset, bool verify);

class AdviceVerifier {
  public:
    // Locates the tree, the scenario and the peer the trace was recorded
    // with. Throws UserError when it cannot re-run them.
    AdviceVerifier(const analysis::HandshakeNeeds& needs, const VerificationSource& source,
                   ProfileSession::Progress progress);
    ~AdviceVerifier();
    Verification verify(const analysis::Proposal& proposal);

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace tlsheap::pipeline
