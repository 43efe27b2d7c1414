// The mosquitto.conf tlsheap writes for an MQTT scenario: one TLS listener
// on 127.0.0.1, in the foreground, no persistence, the log on stderr, and
// the client's certificate required and verified against the scenario's
// client CA, its subject the user name (AWS IoT and Azure authenticate
// devices so).
#pragma once

#include "orchestration/scenario.h"
#include "orchestration/server_credentials.h"

#include <filesystem>
#include <string>

namespace tlsheap::record {

struct MosquittoSite {
    unsigned port = 0;
    ServerCredentials credentials;
};

// Refuses (ScenarioError) a path with a newline, which would end the option.
std::string mosquitto_config(const Scenario& s, const MosquittoSite& site);

} // namespace tlsheap::record
