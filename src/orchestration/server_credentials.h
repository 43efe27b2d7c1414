// A scenario's server credentials as tlsheap hands them to a server it
// starts (gnutls-serv, nginx, mosquitto): copied under fixed names into the
// run's directory, so that a generated config or command line names only
// paths tlsheap chose.
#pragma once

#include <filesystem>

namespace tlsheap::record {

struct ServerCredentials {
    std::filesystem::path chain;     // the server's chain, leaf first, in one file
    std::filesystem::path key;       // its key
    std::filesystem::path client_ca; // mutual: what it trusts ("" otherwise)
};

} // namespace tlsheap::record
