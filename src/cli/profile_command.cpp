#include "cli/profile_command.h"

#include "cli/heap_option.h"
#include "cli/html_option.h"
#include "cli/json_document.h"
#include "cli/number_option.h"
#include "cli/output_file.h"
#include "pipeline/named_inputs.h"
#include "pipeline/profile_session.h"
#include "pipeline/trace_source.h"
#include "report/abi_comparison_table.h"
#include "report/html_report.h"
#include "report/profile_json.h"
#include "report/terminal_profile.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/user_error.h"

#include <cstdio>
#include <optional>
#include <thread>

namespace tlsheap::cli {

namespace fs = std::filesystem;

namespace {

// --real-pool: above this, no device, and the recorder would have to
// allocate the whole pool (the least is pipeline::kSmallestRealPool).
constexpr std::uint64_t kLargestRealPool = std::uint64_t{256} << 20;

void progress(bool quiet, const std::string& message) {
    if (!quiet) {
        std::fprintf(stderr, "tlsheap: %s\n", message.c_str());
    }
}

// The page's view of each ABI's profile, drawn from its trace (its document
// alone when nothing was recorded).
nlohmann::json html_views(const std::vector<pipeline::VariantProfile>& profiles,
                          const pipeline::RecordSettings& settings,
                          const report::ReportOptions& report_options) {
    nlohmann::json views = nlohmann::json::array();
    for (const pipeline::VariantProfile& p : profiles) {
        const std::string name =
            p.run.scenario + (profiles.size() > 1 ? " · ABI " + p.abi : std::string());
        nlohmann::json profile = report::profile_json(p.run, p.result, report_options);
        if (!p.recorded) {
            views.push_back(report::html_document_view(name, std::move(profile)));
            continue;
        }
        views.push_back(report::html_trace_view(
            name, std::move(profile),
            pipeline::trace_source(p.run.trace_path, std::string(), settings.app_heap),
            pipeline::parse_model_specs(settings.models), settings.heap));
    }
    return views;
}

int run_profile(ProfileOptions o) {
    const unsigned jobs = o.jobs != 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
    if (!tls::side_from_name(o.settings.run.side)) {
        throw UserError("--side must be client or server, not '" + o.settings.run.side + "'",
                        kExitBadInput);
    }
    check_format(o.format, o.json);
    check_html_output(o.html, o.json, {o.config, o.settings.trace});
    reserve_stdout_for_json(o.json);
    apply_lifecycle_options(o, o.settings);
    o.settings.heap = parse_heap_size(o.heap, "--heap");
    // Before anything is fetched or built: these need no cache.
    if (const std::string problem = record::connect_options_problem(
            o.settings.run.connect_options, !o.settings.run.connect.empty());
        !problem.empty()) {
        throw UserError(problem, kExitBadInput);
    }
    record::Scenario scenario = pipeline::load_named_scenario(o.scenario);
    const record::ConnectOptions& connect = o.settings.run.connect_options;
    if (scenario.application == recorder_protocol::Application::Mqtt &&
        (connect.request || !connect.read_until.empty())) {
        throw UserError("--request and --read-until shape an HTTP exchange; scenario " +
                            scenario.name + " runs an MQTT session",
                        kExitBadInput);
    }
    if (o.settings.run.drop_datagram > 0 && !scenario.datagram()) {
        throw UserError("--drop-datagram needs a DTLS scenario; " + scenario.name + " is " +
                            scenario.protocol + " over TCP, which never loses a datagram",
                        kExitBadInput);
    }
    pipeline::parse_model_specs(o.settings.models);
    pipeline::check_app_heap(o.settings.app_heap);

    pipeline::ProfileSession session(o.mbedtls, jobs,
                                     [&](const std::string& m) { progress(o.quiet, m); });
    pipeline::RecordSettings& settings = o.settings;
    session.resolve_peer(settings, scenario);
    if (!settings.run.connect.empty()) {
        scenario = record::with_connect_options(scenario, settings.run.connect_options);
    }

    pipeline::VariantRequest variants;
    variants.config = o.config;
    variants.deltas = session.parse_deltas(o.set, o.unset, o.config);
    variants.abis = o.abis;
    variants.stack_backend = o.stack_backend;
    const std::vector<pipeline::VariantProfile> profiles =
        session.profile_variants(variants, settings, scenario);

    report::ReportOptions report_options;
    report_options.top_sites = o.top;
    if (profiles.size() == 1) {
        report::print_profile(stdout, profiles.front().run, profiles.front().result,
                              report_options);
    } else {
        std::vector<report::AbiColumn> columns;
        for (const pipeline::VariantProfile& p : profiles) {
            columns.push_back({&p.run, &p.result});
        }
        report::print_abi_comparison(stdout, columns);
    }
    if (!o.json.empty()) {
        nlohmann::json document;
        if (profiles.size() == 1) {
            document =
                report::profile_json(profiles.front().run, profiles.front().result, report_options);
        } else {
            document = {{"schema_version", kProfileSchemaVersion},
                        {"kind", "tlsheap.profile-abis"},
                        {"profiles", nlohmann::json::array()}};
            for (const pipeline::VariantProfile& p : profiles) {
                document["profiles"].push_back(
                    report::profile_json(p.run, p.result, report_options));
            }
        }
        write_document(o.json, document, o.format);
    }
    if (!o.html.empty()) {
        write_html_report(o.html, "tlsheap: " + scenario.name, "profile",
                          html_views(profiles, settings, report_options));
    }
    for (const pipeline::VariantProfile& p : profiles) {
        if (p.status != kExitOk) {
            throw UserError(profiles.size() > 1 ? "ABI " + p.abi + ": " + p.error : p.error,
                            p.status);
        }
    }
    // As `replay --heap`: a model on which the recording does not fit the heap fails the run.
    for (const pipeline::VariantProfile& p : profiles) {
        for (const replay::ModelRun& m : p.result.models) {
            if (m.failure_count > 0) {
                return kExitFailed;
            }
        }
    }
    return kExitOk;
}

} // namespace

void apply_lifecycle_options(const ProfileOptions& o, pipeline::RecordSettings& settings) {
    settings.run.connections = o.connections;
    settings.run.reconnects = o.reconnects;
    if (!o.start.empty()) {
        settings.run.start = lifecycle::start_from_name(o.start);
        if (!settings.run.start) {
            throw UserError("--start must be together or staggered, not '" + o.start + "'",
                            kExitBadInput);
        }
    }
    if (!o.resume.empty()) {
        settings.run.resume = lifecycle::resume_from_name(o.resume);
        if (!settings.run.resume) {
            throw UserError("--resume must be none, session-id or ticket, not '" + o.resume + "'",
                            kExitBadInput);
        }
    }
    if (o.early_data) {
        settings.run.early_data = true;
    }
}

void add_profile_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<ProfileOptions>();
    CLI::App* cmd = app.add_subcommand(
        "profile", "Build mbedTLS as configured, record a real handshake, report its heap profile");
    cmd->add_option("--mbedtls", options->mbedtls,
                    "mbedTLS source: 3.6 or 2.28 (fetched by fetch-mbedtls.sh; tlsheap --version "
                    "lists them) or a directory")
        ->capture_default_str();
    cmd->add_option("--config", options->config,
                    "config.h to build with (default: the tree's own)");
    cmd->add_option("--set", options->set, "NAME[=VALUE]: define a config macro (repeatable)");
    cmd->add_option("--unset", options->unset, "NAME: undefine a config macro (repeatable)");
    cmd->add_option("--scenario", options->scenario, "scenario name (scenarios/*.json) or file")
        ->capture_default_str();
    cmd->add_option(
        "--peer", options->settings.run.peer,
        "mbedtls (deterministic), openssl, gnutls, nginx or mosquitto (the scenario says "
        "which it runs against)");
    cmd->add_option("--side", options->settings.run.side, "side to record: client or server")
        ->capture_default_str();
    cmd->add_option("--connect", options->settings.run.connect,
                    "HOST:PORT of a server you run (records the client)");
    cmd->add_option("--ca", options->settings.run.ca, "CA certificate(s) to trust with --connect");
    cmd->add_option("--server-name", options->settings.run.server_name,
                    "server name to verify with --connect");
    // What --connect changes in the scenario for a server the user runs.
    record::ConnectOptions& c = options->settings.run.connect_options;
    cmd->add_option("--protocol", c.protocol,
                    "with --connect: tls1.2, tls1.3 or any (default: the scenario's)");
    cmd->add_option("--ciphersuite", c.ciphersuites,
                    "with --connect: a cipher suite to offer, by mbedTLS's name "
                    "(TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256; repeatable; default: the "
                    "scenario's, or mbedTLS's defaults after --protocol or --psk)");
    cmd->add_option("--group", c.groups,
                    "with --connect: a key exchange group: secp256r1, secp384r1, x25519, ... "
                    "(repeatable; default: the scenario's)");
    cmd->add_option("--psk", c.psk_hex,
                    "with --connect: the pre-shared key in hex (with --psk-identity; it is "
                    "written nowhere)");
    cmd->add_option("--psk-identity", c.psk_identity, "with --connect: the PSK's identity");
    cmd->add_option("--client-cert", c.client_cert,
                    "with --connect: the client's certificate chain, leaf first (repeatable; "
                    "with --client-key)");
    cmd->add_option("--client-key", c.client_key, "with --connect: the client's private key");
    cmd->add_option("--request", options->request,
                    "with --connect: what the client sends after the handshake, with C escapes "
                    "(\\r \\n \\t \\xHH; \"\": nothing) (default: the scenario's GET)");
    cmd->add_option("--read-until", c.read_until,
                    "with --connect: how long the client reads the answer: response (the "
                    "scenario's: headers and its response bytes), close, bytes:N (N bytes in "
                    "all) or quiet:MS (until nothing comes for MS ms); a server that closes "
                    "first ends it with a note");
    cmd->add_option("--trace", options->settings.trace,
                    "where to write the trace (default: in the cache)")
        ->check(replaced_file());
    cmd->add_option("--json", options->json,
                    "write the profile as JSON to FILE (-: stdout, the report then on stderr)")
        ->check(output_file());
    cmd->add_option("--format", options->format,
                    "what --json writes: tlsheap (the full profile), benchmark-action "
                    "(github-action-benchmark's customSmallerIsBetter) or bmf (Bencher)")
        ->capture_default_str();
    add_html_option(cmd, options->html);
    step_timeout_option(cmd->add_option("--timeout", options->settings.run.timeout_seconds,
                                        "seconds to wait for the peer at every step"))
        ->capture_default_str();
    port_option(cmd->add_option("--port", options->settings.run.port,
                                "port for the local peer (default: ephemeral)"));
    jobs_option(
        cmd->add_option("-j,--jobs", options->jobs, "parallel compilations (default: all cores)"));
    cmd->add_option("--model", options->settings.models,
                    "allocator models to replay (NAME[:key=value,...]; repeatable)")
        ->capture_default_str();
    whole_number_option(cmd->add_option("--real-pool", options->settings.run.real_pool,
                                        "record on mbedTLS's own memory_buffer_alloc with a pool "
                                        "of this many bytes"),
                        pipeline::kSmallestRealPool, kLargestRealPool, "bytes");
    cmd->add_option(
        "--abi", options->abis,
        "ABI to record on: ilp32 (32-bit x86, the default where it builds), arm (32-bit "
        "ARM under qemu), host; repeat to compare them side by side");
    cmd->add_flag("--stack", options->settings.run.stack,
                  "also measure the stack: the recorder runs on a painted stack and reports the "
                  "deepest each phase and handshake state went (the recording is slower)");
    whole_number_option(
        cmd->add_option("--drop-datagram", options->settings.run.drop_datagram,
                        "DTLS: the recorded side discards the K-th datagram each connection "
                        "receives; its retransmission timer fires once the socket is quiet, so "
                        "the retransmitted flights show in the records and the profile"),
        1, recorder_protocol::kMaxDropDatagram);
    cmd->add_option("--stack-backend", options->stack_backend,
                    "how the recorder captures stacks: frame-pointer (default on x86), libunwind, "
                    "execinfo");
    top_option(cmd->add_option("--top", options->top, "call sites to list"))->capture_default_str();
    whole_number_option(
        cmd->add_option("--connections", options->connections,
                        "concurrent connections sharing one config (default: the scenario's, 1)"),
        1, lifecycle::kMaxConnections);
    cmd->add_option("--start", options->start,
                    "how concurrent connections start: together (handshakes interleaved step by "
                    "step) or staggered (one after the other, earlier ones kept open)");
    whole_number_option(
        cmd->add_option("--reconnects", options->reconnects,
                        "connect this many times in a row, each connection closed and freed "
                        "before the next (default: the scenario's, 1)"),
        1, lifecycle::kMaxReconnects);
    cmd->add_option(
        "--heap", options->heap,
        "replay on a device heap of this many bytes: a verdict per model (fits, with "
        "its headroom, or the first allocation that fails); exit status 1 if one fails");
    cmd->add_option("--app-heap", options->settings.app_heap,
                    "the application's blocks in the same heap: hold=SIZE,... (allocated "
                    "before the first connection, kept) and/or between=SIZE,... (allocated "
                    "after each reconnect cycle, freed after the next), ';' between parts");
    cmd->add_option("--resume", options->resume,
                    "how connections after the first resume the first one's session: none, "
                    "session-id (TLS 1.2 session cache) or ticket (TLS 1.2 RFC 5077 tickets, TLS "
                    "1.3 PSK resumption) (default: the scenario's, none)");
    cmd->add_flag("--early-data", options->early_data,
                  "with TLS 1.3 and --resume ticket: each resumed connection sends its request "
                  "as 0-RTT early data (the config needs MBEDTLS_SSL_EARLY_DATA: --set "
                  "MBEDTLS_SSL_EARLY_DATA)");
    cmd->add_flag("-q,--quiet", options->quiet, "no progress messages");
    cmd->callback([options, cmd, &exit_code]() {
        if (cmd->count("--request") > 0) {
            options->settings.run.connect_options.request = options->request;
        }
        exit_code = run_profile(*options);
    });
}

} // namespace tlsheap::cli
