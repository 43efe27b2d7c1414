// The command line tlsheap gives `gnutls-serv` (Debian's gnutls-bin) to
// serve a scenario: its HTTP mode answering every request with the
// scenario's response (--httpdata: a header block, then the file's bytes),
// the protocol version pinned by a priority string, and the scenario's
// credentials. gnutls-serv binds every interface; only the recorded client
// on 127.0.0.1 talks to it.
#pragma once

#include "orchestration/scenario.h"
#include "orchestration/server_credentials.h"
#include "tlsheap/connection_lifecycle.h"

#include <filesystem>
#include <string>
#include <vector>

namespace tlsheap::record {

struct GnutlsSite {
    unsigned port = 0;
    std::filesystem::path body;     // the response's bytes
    ServerCredentials credentials;  // certificate scenarios
    std::filesystem::path psk_file; // PSK scenarios: "identity:hexkey"
};

// "NORMAL:-VERS-ALL:+VERS-TLS1.2" and, for PSK, its key exchanges (NORMAL
// has none): the client offers only the scenario's suite and groups, so
// pinning the version is enough.
std::string gnutls_priority(const Scenario& s);

// The PSK file's one line: "identity:hexkey".
std::string gnutls_psk_line(const Scenario& s);

std::vector<std::string> gnutls_serv_arguments(const Scenario& s, const lifecycle::Lifecycle& l,
                                               const GnutlsSite& site);

} // namespace tlsheap::record
