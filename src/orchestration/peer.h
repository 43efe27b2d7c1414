// The other end of the recorded connection, started and stopped by tlsheap
// on 127.0.0.1: the deterministic mbedTLS peer (a recorder in server mode
// with a fixed seed), or a real `openssl s_server`, `gnutls-serv`, nginx or
// mosquitto (peer_kind.h). Listens on an ephemeral port unless one is asked
// for; the destructor stops it.
#pragma once

#include "orchestration/scenario.h"
#include "process/child_process.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tlsheap::record {

struct PeerRequest {
    std::string kind; // peer_kind.h: mbedtls, openssl, gnutls, nginx, mosquitto or coap
    Scenario scenario;
    std::filesystem::path recorder;  // mbedtls: the peer variant's recorder
    std::vector<std::string> runner; // emulator prefix for the recorder, if any
    bool der = false;                // the peer variant lacks PEM parsing
    unsigned port = 0;               // 0: ephemeral
    std::chrono::milliseconds timeout{10000};
    std::filesystem::path work_dir; // scratch space: a server's files and generated config
    std::uint64_t seed = 2;
    std::string fixed_time = "0";   // the mbedTLS peer's clock (seconds since 1970; 0: real)
    unsigned runs = 1;              // whole runs of the recorded side (benchmarks repeat them)
    lifecycle::Lifecycle lifecycle; // the connections of each run, as the recorded side opens them
    bool fork_runs = false; // mbedtls: each run from a fresh fork, until stopped (`tlsheap oom`)
};

class Peer {
  public:
    // Throws RecordError: port in use, program missing, never ready.
    explicit Peer(const PeerRequest& request);
    ~Peer();
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    unsigned port() const { return port_; }
    const std::string& description() const { return description_; }
    // Waits a little for the peer to finish its connection, then stops it.
    void finish(std::chrono::milliseconds grace);
    // The peer's own last error line, for diagnosing a failed handshake.
    std::string error_line() const;

  private:
    void start_mbedtls(const PeerRequest& r);
    void start_openssl(const PeerRequest& r);
    void start_gnutls(const PeerRequest& r);
    void start_nginx(const PeerRequest& r);
    void start_mosquitto(const PeerRequest& r);
    void start_coap(const PeerRequest& r);
    // A server that runs until stopped: started in the request's work
    // directory, ready once it accepts a connection on `port` (`datagram`:
    // has a UDP socket bound there).
    void start_until_stopped(const std::vector<std::string>& argv, const PeerRequest& r,
                             unsigned port, const std::string& name, const std::string& package,
                             bool datagram = false);

    std::unique_ptr<process::ChildProcess> child_;
    unsigned port_ = 0;
    std::string description_;
    bool stops_by_itself_ = true; // s_server after -naccept, the mbedTLS peer after its runs
};

// "OpenSSL 3.0.19 1 Jul 2025" or "" if openssl is missing.
std::string openssl_version();

} // namespace tlsheap::record
