// tlsheap-recorder: the program the build stage links with every mbedTLS
// variant. As a client it connects to a peer and records; as a server it is
// the deterministic mbedTLS peer (and can record too). Errors are one line on
// stderr; the exit status says what kind (see ConnectionStatus).
#include "connection_phases.h"
#include "deterministic_entropy.h"
#include "deterministic_time.h"
#include "forked_runs.h"
#include "mbedtls_compat.h"
#include "painted_stack.h"
#include "recorder_options.h"
#include "recording.h"
#include "socket_transport.h"
#include "stack_capture.h"
#include "tlsheap/recorder_protocol.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/trace_meta.h"
#include "variant_description.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

namespace {

using tlsheap::recorder::Recording;

constexpr int kTraceWriteFailure = 6;

extern "C" void on_fatal_signal(int sig, siginfo_t* info, void*) {
    if (sig == SIGSEGV && tlsheap::recorder::painted_stack_overflowed(info->si_addr)) {
        constexpr char kOverflow[] =
            "error: the handshake overflowed the recorder's painted stack (--stack-size)\n";
        [[maybe_unused]] const auto n = write(STDERR_FILENO, kOverflow, sizeof kOverflow - 1);
    }
    // Keep what was recorded: a killed recorder leaves a readable, truncated trace.
    Recording::instance().emergency_flush();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

void install_fatal_signal_handlers() {
    struct sigaction action {};
    action.sa_sigaction = on_fatal_signal;
    // On the painted stack's alternate signal stack, so that an overflow is reported.
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) {
        sigaction(sig, &action, nullptr);
    }
}

void describe_recording(Recording& r, const tlsheap::recorder::RecorderOptions& o) {
    using namespace tlsheap::recorder;
    namespace meta = tlsheap::trace::meta;
    describe_variant(r, MBEDTLS_VERSION_STRING);
    r.meta(meta::kRecorderSide, tlsheap::tls::side_name(o.mode));
    r.meta(meta::kTransport, o.datagram ? meta::kTransportDatagram : meta::kTransportStream);
    r.meta(meta::kStackBackend,
           o.capture_stacks ? stack_capture_backend() : meta::kStackBackendNone);
    if (painted_stack_active()) {
        r.meta(meta::kStackPainted, std::to_string(painted_stack_size()));
    }
    r.meta(meta::kAllocator,
           o.pool_size > 0 ? meta::kAllocatorMemoryBufferAlloc : meta::kAllocatorLibc);
    if (o.pool_size > 0) {
        r.meta(meta::kPoolSize, std::to_string(o.pool_size));
    }
    r.meta(meta::kSeed, std::to_string(o.seed));
    r.meta(meta::kFixedTime, std::to_string(o.fixed_time));
    r.meta(meta::kEntropy, meta::kEntropySources);
    r.meta(meta::kPsaInit, meta::psa_init_name(o.psa_init));
    r.meta(meta::kLifecycleConnections, std::to_string(o.lifecycle.connections));
    r.meta(meta::kLifecycleStart, tlsheap::lifecycle::start_name(o.lifecycle.start));
    r.meta(meta::kLifecycleReconnects, std::to_string(o.lifecycle.reconnects));
    if (o.lifecycle.resume != tlsheap::lifecycle::Resume::None) {
        r.meta(meta::kLifecycleResume, tlsheap::lifecycle::resume_name(o.lifecycle.resume));
    }
    if (o.lifecycle.early_data) {
        r.meta(meta::kLifecycleEarlyData, meta::kEarlyDataRequest);
    }
    for (const auto& [key, value] : o.meta) {
        r.meta(key, value);
    }
    r.flush();
}

// Everything the recorder does, on the painted stack when it has one.
int run_recorder(void* arg) {
    using namespace tlsheap::recorder;
    const RecorderOptions& options = *static_cast<const RecorderOptions*>(arg);
    std::string error;
    stack_capture_init(__builtin_frame_address(0));
    seed_deterministic_entropy(options.seed);
    fix_library_time(static_cast<std::int64_t>(options.fixed_time));

    if (options.sweep.active()) {
        return sweep_allocation_failures(options);
    }
    Recording& recording = Recording::instance();
    if (!options.trace_path.empty()) {
        if (!recording.start(options.trace_path.c_str(), options.capture_stacks)) {
            std::fprintf(stderr, "error: cannot create trace %s: %s\n", options.trace_path.c_str(),
                         std::strerror(errno));
            return kTraceWriteFailure;
        }
        describe_recording(recording, options);
    }

    Listener listener;
    if (options.mode == Mode::Server) {
        if (!listener.listen(options.listen_host, options.listen_port, options.datagram, error)) {
            std::fprintf(stderr, "error: %s\n", error.c_str());
            recording.finish();
            return static_cast<int>(ConnectionStatus::Transport);
        }
        // tlsheap waits for this line to learn the ephemeral port.
        std::printf("%s%u\n", std::string(tlsheap::recorder_protocol::kListening).c_str(),
                    listener.port());
        std::fflush(stdout);
        if (options.fork_runs) {
            return serve_forked_runs(options, listener);
        }
    }

    const unsigned connections =
        options.mode == Mode::Server ? options.accept_count : options.repeat;
    ConnectionResult result;
    for (unsigned i = 0; i < connections && result.status == ConnectionStatus::Ok; ++i) {
        result = run_lifecycle(options, &listener);
        if (options.report_timing && result.status == ConnectionStatus::Ok) {
            const StackExcursion excursion; // printf's stack is not mbedTLS's
            std::printf("%s%llu\n", std::string(tlsheap::recorder_protocol::kHandshakeNs).c_str(),
                        result.handshake_ns);
        }
    }
    if (!options.trace_path.empty() && recording.live_count() > 0) {
        std::fprintf(stderr, "warning: %llu allocations still alive after teardown (leaks)\n",
                     static_cast<unsigned long long>(recording.live_count()));
    }
    const bool trace_ok = recording.finish();
    std::fflush(stdout);
    if (result.status != ConnectionStatus::Ok) {
        std::fprintf(stderr, "error: %s\n", result.error.c_str());
        return static_cast<int>(result.status);
    }
    if (!trace_ok) {
        std::fprintf(stderr, "error: writing trace %s failed\n", options.trace_path.c_str());
        return kTraceWriteFailure;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    using namespace tlsheap::recorder;
    RecorderOptions options;
    std::string error;
    if (!parse_recorder_options(argc, argv, options, error)) {
        std::fprintf(stderr, "error: %s\n", error.c_str());
        return static_cast<int>(ConnectionStatus::Usage);
    }
    install_fatal_signal_handlers();
    std::signal(SIGPIPE, SIG_IGN);
    if (options.stack_size == 0) {
        return run_recorder(&options);
    }
    int status = 0;
    const char* failure = nullptr;
    if (!run_on_painted_stack(options.stack_size, run_recorder, &options, status, failure)) {
        std::fprintf(stderr, "error: %s\n", failure);
        return static_cast<int>(ConnectionStatus::Usage);
    }
    return status;
}
