// How the user asked a scenario to be run, from the command line or a
// sweep's grid: the one options struct that flows from `cli/` through the
// pipeline into the recording (RecordingRequest holds it, resolved), instead
// of a copy per stage.
#pragma once

#include "orchestration/connect_options.h"
#include "tlsheap/connection_lifecycle.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::record {

struct RunSettings {
    std::string side = "client"; // the side recorded; `sweep --side` takes any text (server)
    std::string peer;            // "" : the scenario's first; "external" with `connect`
    std::string connect;         // HOST:PORT of the user's server
    std::vector<std::string> ca; // what to trust there
    std::string server_name;
    ConnectOptions connect_options; // what --connect changes in the scenario
    double timeout_seconds = 10;    // per step, for the peer and the recorder
    unsigned port = 0;              // 0: ephemeral
    std::uint64_t real_pool = 0;    // run on the real memory_buffer_alloc with this pool
    bool stack = false;             // run the recorded side on a painted stack (`profile --stack`)
    // DTLS: the recorded side discards the k-th datagram each connection
    // receives (0: none), so that retransmission shows in the profile.
    unsigned drop_datagram = 0;
    // Over the scenario's lifecycle (unset: the scenario's).
    std::optional<unsigned> connections;
    std::optional<lifecycle::Start> start;
    std::optional<unsigned> reconnects;
    std::optional<lifecycle::Resume> resume;
    std::optional<bool> early_data;
};

} // namespace tlsheap::record
