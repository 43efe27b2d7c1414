// The nginx.conf tlsheap writes to serve a scenario: one TLS server on
// 127.0.0.1 in the foreground, one process (no master, no daemon), every file
// it writes inside its work directory, and the scenario's response as a
// file, so that "GET /N" answers N bytes as the other peers do.
#pragma once

#include "orchestration/scenario.h"
#include "orchestration/server_credentials.h"
#include "tlsheap/connection_lifecycle.h"

#include <filesystem>
#include <string>

namespace tlsheap::record {

struct NginxSite {
    unsigned port = 0;
    std::filesystem::path work_dir; // pid file, temp paths, the document root www/
    ServerCredentials credentials;
};

// The config text. Paths go in double quotes; a path nginx would read
// otherwise (a quote, a backslash, a '$' that starts a variable) is refused
// with ScenarioError, one line.
std::string nginx_config(const Scenario& s, const lifecycle::Lifecycle& l, const NginxSite& site);

} // namespace tlsheap::record
