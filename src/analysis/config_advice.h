// Config changes proposed from what a handshake needed (HandshakeNeeds), each
// with the figures predicted by replaying the trace as the changed config
// would have made it (the config-delta transform). `tlsheap advise` prints
// them; `--verify` rebuilds each and measures.
#pragma once

#include "analysis/handshake_needs.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::analysis {

struct ConfigChange {
    bool set = true;
    std::string name;
    std::string value; // for set; "" defines the macro without a value
    // "--set NAME=VALUE", "--unset NAME"
    std::string to_string() const;
};

struct HeapFigures {
    std::uint64_t live_peak = 0;
    std::optional<std::uint64_t> steady_state;
    std::uint64_t min_pool = 0; // mbedtls-pool model
};

struct Proposal {
    std::string title;
    std::vector<ConfigChange> changes;
    std::string why;
    bool user = false;     // from --try
    std::string transform; // config-delta spec the prediction replays; "" when none
    std::string accuracy;  // what the prediction can and cannot see
    std::optional<HeapFigures> predicted;
    std::string predicted_break; // the handshake is predicted to fail: why
    std::string not_predicted;   // no prediction: why
};

struct Advice {
    HeapFigures now;
    std::vector<Proposal> proposals;
    std::vector<std::string> notes; // considered and not proposed, with the reason
};

// Why a buffer of `in_content_len` would not carry the recorded handshake
// ("" when it would). `mfl_available`: the client can ask for a maximum
// fragment length.
std::string in_content_len_problem(const HandshakeNeeds& needs, std::uint64_t in_content_len,
                                   std::uint64_t out_content_len, bool mfl_available);
std::string out_content_len_problem(const HandshakeNeeds& needs, std::uint64_t out_content_len,
                                    std::uint64_t in_content_len, bool mfl_available);

// Proposals (tlsheap's own, then the user's `try_changes` as one more) with
// predictions. Throws trace::TraceError / replay::TransformError.
Advice advise(const HandshakeNeeds& needs, const std::vector<ConfigChange>& try_changes);

} // namespace tlsheap::analysis
