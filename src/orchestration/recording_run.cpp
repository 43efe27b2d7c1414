#include "orchestration/recording_run.h"

#include "orchestration/peer.h"
#include "orchestration/record_error.h"
#include "process/child_process.h"
#include "tlsheap/recorder_protocol.h"
#include "tlsheap/tls_wire.h"

#include <fmt/format.h>
#include <memory>
#include <optional>
#include <sstream>

namespace tlsheap::record {

namespace {

constexpr std::uint64_t kRecordedSeed = 1;
constexpr std::uint64_t kPeerSeed = 2;
// 2026-01-01T00:00:00Z: the library's clock in every run against a local
// peer, so that two runs of a scenario are identical. (The test PKI is valid
// 2025-2099; a server the user runs gets the real clock.)
constexpr const char* kFixedTime = "1767225600";

std::vector<std::string> recorder_common(const RecordingRequest& r) {
    std::vector<std::string> a = r.runner;
    a.push_back(r.recorder.string());
    a.insert(a.end(), {"--timeout-ms", std::to_string(step_timeout(r).count()), "--seed",
                       std::to_string(kRecordedSeed)});
    if (r.settings.peer != "external") {
        a.insert(a.end(), {"--fixed-time", kFixedTime});
    }
    if (r.record) {
        a.insert(a.end(), {"--trace", r.trace.string()});
        for (const auto& [key, value] : r.meta) {
            a.insert(a.end(), {"--meta", key + "=" + value});
        }
        if (!r.capture_stacks) {
            a.push_back("--no-stacks");
        }
        if (r.settings.stack) {
            a.insert(a.end(),
                     {"--stack-size", std::to_string(recorder_protocol::kPaintedStackBytes)});
        }
    }
    if (r.settings.real_pool > 0) {
        a.insert(a.end(), {"--pool-size", std::to_string(r.settings.real_pool)});
    }
    if (r.settings.drop_datagram > 0) {
        a.insert(a.end(), {"--drop-datagram", std::to_string(r.settings.drop_datagram)});
    }
    const recorder_protocol::RunSweep& sweep = r.sweep;
    if (sweep.active()) {
        const bool pools = sweep.pools();
        a.insert(
            a.end(),
            {pools ? "--pool-sweep" : "--fail-allocations",
             pools ? fmt::format("{}-{}/{}", sweep.pool_high, sweep.pool_low, sweep.pool_step)
                   : fmt::format("{}-{}/{}", sweep.fail_first, sweep.fail_last, sweep.fail_step)});
    }
    if (r.repeat > 1) {
        a.insert(a.end(), {"--repeat", std::to_string(r.repeat), "--accept-count",
                           std::to_string(r.repeat)});
    }
    const auto lifecycle = lifecycle_arguments(r.lifecycle);
    a.insert(a.end(), lifecycle.begin(), lifecycle.end());
    a.push_back("--report-timing");
    return a;
}

// Collects "handshake_ns N" lines the recorder prints.
std::vector<unsigned long long> timings(const std::string& out) {
    std::vector<unsigned long long> ns;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(recorder_protocol::kHandshakeNs, 0) == 0) {
            ns.push_back(std::stoull(line.substr(recorder_protocol::kHandshakeNs.size())));
        }
    }
    return ns;
}

std::string recorder_error(const process::ChildProcess& child, int status) {
    std::string line = child.last_error_line();
    if (line.rfind("error: ", 0) == 0) {
        return line.substr(7);
    }
    if (child.killed_by_signal()) {
        return "the recorder was killed by signal " + std::to_string(status - 128) +
               (line.empty() ? "" : " (" + line + ")");
    }
    return line.empty() ? "the recorder exited with status " + std::to_string(status) : line;
}

// The recorder's own timeouts bound every read and write; this bounds the
// whole run in case something else hangs.
std::chrono::milliseconds watchdog(const RecordingRequest& r) {
    const unsigned connections = r.lifecycle.connections * r.lifecycle.reconnects;
    // A sweep's runs are each bounded by the recorder's own watchdog.
    const std::uint64_t runs = r.sweep.active() ? r.sweep.runs() : std::max(1u, r.repeat);
    return step_timeout(r) * (6 * runs * connections) + std::chrono::seconds(20);
}

RecordingResult finish(process::ChildProcess& recorder, const RecordingRequest& r, Peer* peer) {
    RecordingResult result;
    const auto status = recorder.wait(watchdog(r));
    if (!status) {
        recorder.stop();
        result.status = static_cast<int>(recorder_protocol::RunStatus::Timeout);
        result.error = "the recorder did not finish within " +
                       std::to_string(watchdog(r).count() / 1000) +
                       " s and was stopped; the trace holds what it recorded";
    } else {
        result.status = *status;
        if (*status != 0) {
            result.error = recorder_error(recorder, *status);
        }
    }
    result.handshake_ns = timings(recorder.stdout_text());
    result.output = recorder.stdout_text();
    if (peer != nullptr) {
        // A peer that forks a run for every connection never ends by itself.
        peer->finish(std::chrono::milliseconds(r.sweep.active() ? 0 : 3000));
        result.peer_description = peer->description();
        const std::string peer_error = peer->error_line();
        if (result.status != 0 && !peer_error.empty()) {
            result.error += " [peer: " + peer_error + "]";
        }
    }
    return result;
}

} // namespace

Side recorded_side(const RecordingRequest& r) {
    return tls::side_from_name(r.settings.side).value_or(Side::Server);
}

std::chrono::milliseconds step_timeout(const RecordingRequest& r) {
    // Emulated ABIs run many times slower: the per-step timeout scales.
    const double slowdown = r.runner.empty() ? 1.0 : 10.0;
    return std::chrono::milliseconds(
        static_cast<long long>(r.settings.timeout_seconds * 1000 * slowdown));
}

RecordingResult run_recording(const RecordingRequest& r) {
    std::filesystem::create_directories(r.work_dir);
    if (recorded_side(r) == Side::Client) {
        std::unique_ptr<Peer> peer;
        std::string host = "127.0.0.1";
        std::string port;
        if (r.settings.peer == "external") {
            const auto colon = r.settings.connect.rfind(':');
            host = r.settings.connect.substr(0, colon);
            port = r.settings.connect.substr(colon + 1);
        } else {
            PeerRequest p;
            p.kind = r.settings.peer;
            p.scenario = r.scenario;
            p.recorder = r.peer_recorder;
            p.runner = r.peer_runner;
            p.der = r.peer_der;
            p.port = r.settings.port;
            p.timeout = step_timeout(r);
            p.work_dir = r.work_dir / "peer";
            p.seed = kPeerSeed;
            p.fixed_time = kFixedTime;
            p.runs = std::max(1u, r.repeat);
            p.lifecycle = r.lifecycle;
            p.fork_runs = r.sweep.active();
            peer = std::make_unique<Peer>(p);
            port = std::to_string(peer->port());
        }
        process::LaunchOptions options;
        options.argv = recorder_common(r);
        options.argv.insert(options.argv.end(),
                            {"--mode", side_name(Side::Client), "--connect", host + ":" + port});
        Scenario s = r.scenario;
        if (!peer) {
            // The scenario comes with --connect's options applied (profile).
            const auto exchange = external_exchange_arguments(r.settings.connect_options);
            options.argv.insert(options.argv.end(), exchange.begin(), exchange.end());
        }
        if (!r.settings.ca.empty()) {
            s.ca.clear();
            for (const std::string& ca : r.settings.ca) {
                s.ca.push_back(std::filesystem::absolute(ca));
            }
        }
        if (!r.settings.server_name.empty()) {
            s.server_name = r.settings.server_name;
        }
        const auto args = recorder_arguments(s, Side::Client, r.der);
        options.argv.insert(options.argv.end(), args.begin(), args.end());
        process::ChildProcess recorder(options);
        RecordingResult result = finish(recorder, r, peer.get());
        if (peer) {
            result.peer_description = peer->description();
        } else {
            const std::string given = r.settings.connect_options.summary();
            result.peer_description =
                "external server " + host + ":" + port + (given.empty() ? "" : " (" + given + ")");
        }
        return result;
    }

    // Recording the server: the recorder listens, the mbedTLS peer connects.
    if (r.settings.peer != "mbedtls") {
        throw RecordError(
            "recording the server side needs the mbedTLS peer as client (--peer mbedtls)", 2);
    }
    process::LaunchOptions options;
    options.argv = recorder_common(r);
    options.argv.insert(options.argv.end(), {"--mode", side_name(Side::Server), "--listen",
                                             "127.0.0.1:" + std::to_string(r.settings.port)});
    const auto args = recorder_arguments(r.scenario, Side::Server, r.der);
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    process::ChildProcess recorder(options);
    const auto line = recorder.wait_for_line(
        [](const std::string& l) { return l.rfind(recorder_protocol::kListening, 0) == 0; },
        step_timeout(r));
    if (!line) {
        recorder.stop();
        const std::string err = recorder.last_error_line();
        throw RecordError(err.rfind("error: ", 0) == 0 ? err.substr(7)
                                                       : "the recorder did not start listening",
                          2);
    }
    process::LaunchOptions client;
    client.argv = r.peer_runner;
    client.argv.insert(client.argv.end(),
                       {r.peer_recorder.string(), "--mode", side_name(Side::Client), "--connect",
                        "127.0.0.1:" + line->substr(recorder_protocol::kListening.size()),
                        "--timeout-ms", std::to_string(step_timeout(r).count()), "--seed",
                        std::to_string(kPeerSeed), "--fixed-time", kFixedTime, "--repeat",
                        std::to_string(std::max(1u, r.repeat))});
    const auto peer_lifecycle = lifecycle_arguments(r.lifecycle);
    client.argv.insert(client.argv.end(), peer_lifecycle.begin(), peer_lifecycle.end());
    const auto peer_args = recorder_arguments(r.scenario, Side::Client, r.peer_der);
    client.argv.insert(client.argv.end(), peer_args.begin(), peer_args.end());
    process::ChildProcess peer(client);
    RecordingResult result = finish(recorder, r, nullptr);
    if (!peer.wait(std::chrono::milliseconds(3000))) {
        peer.stop();
    }
    if (result.status != 0) {
        const std::string peer_error = peer.last_error_line();
        if (!peer_error.empty()) {
            result.error += " [peer: " + peer_error + "]";
        }
    }
    result.peer_description =
        "mbedTLS peer client (deterministic, seed " + std::to_string(kPeerSeed) + ")";
    return result;
}

} // namespace tlsheap::record
