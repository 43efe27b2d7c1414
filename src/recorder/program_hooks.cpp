// Records a user's own program linked with an exported variant (`tlsheap
// build --export`): the export's link options wrap the mbedTLS calls below,
// and a constructor starts the recording when TLSHEAP_TRACE names a trace
// (`tlsheap record` sets it). Each mbedtls_ssl_context the program sets up is
// a connection; its phases come from what the program calls on it (setup,
// the first handshake step, the handshake's end, close_notify, free) and its
// handshake states from mbedtls_ssl_handshake_step. Everything else the
// program asks of mbedTLS (configs, certificates, DRBG, PSA) is the shared
// part's, which enters TEARDOWN when the program frees an SSL config.
//
// Not part of the recorder executable (variant_builder.cpp keeps it out): its
// __real_ symbols exist only when linked with these wraps. Compiled a second
// way, with TLSHEAP_PRELOAD, for a program that loads mbedTLS as shared
// libraries (hooked_call.h): `tlsheap record` preloads it, and
// preload_allocation_shim.cpp records the libraries' calloc/free.
#include "connection_id_lengths.h"
#include "hooked_call.h"
#include "mbedtls_compat.h"
#include "memory_pool_header.h"
#include "preload_allocation_shim.h"
#include "recording.h"
#include "stack_capture.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/trace_meta.h"
#include "transport_tap.h"
#include "variant_description.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mbedtls/ssl.h>
#include <memory>
#include <pthread.h>
#include <string>

#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C) && !defined(TLSHEAP_PRELOAD)
#include <mbedtls/memory_buffer_alloc.h>
#endif

using tlsheap::recorder::Recording;
using tlsheap::trace::Phase;

extern "C" {
// The export's link options name this symbol as undefined, so that this
// object (and its constructor) is linked into every program, even one that
// uses mbedTLS's crypto alone.
extern const char tlsheap_program_hooks[] = "tlsheap program hooks";

#if !defined(TLSHEAP_PRELOAD)
int __real_mbedtls_ssl_setup(mbedtls_ssl_context* ssl, const mbedtls_ssl_config* conf);
void __real_mbedtls_ssl_set_bio(mbedtls_ssl_context* ssl, void* p_bio, mbedtls_ssl_send_t* f_send,
                                mbedtls_ssl_recv_t* f_recv,
                                mbedtls_ssl_recv_timeout_t* f_recv_timeout);
int __real_mbedtls_ssl_handshake_step(mbedtls_ssl_context* ssl);
int __real_mbedtls_ssl_read(mbedtls_ssl_context* ssl, unsigned char* buf, size_t len);
int __real_mbedtls_ssl_write(mbedtls_ssl_context* ssl, const unsigned char* buf, size_t len);
int __real_mbedtls_ssl_close_notify(mbedtls_ssl_context* ssl);
void __real_mbedtls_ssl_free(mbedtls_ssl_context* ssl);
void __real_mbedtls_ssl_config_free(mbedtls_ssl_config* conf);

int __wrap_mbedtls_ssl_setup(mbedtls_ssl_context* ssl, const mbedtls_ssl_config* conf);
void __wrap_mbedtls_ssl_set_bio(mbedtls_ssl_context* ssl, void* p_bio, mbedtls_ssl_send_t* f_send,
                                mbedtls_ssl_recv_t* f_recv,
                                mbedtls_ssl_recv_timeout_t* f_recv_timeout);
int __wrap_mbedtls_ssl_handshake(mbedtls_ssl_context* ssl);
int __wrap_mbedtls_ssl_handshake_step(mbedtls_ssl_context* ssl);
int __wrap_mbedtls_ssl_read(mbedtls_ssl_context* ssl, unsigned char* buf, size_t len);
int __wrap_mbedtls_ssl_write(mbedtls_ssl_context* ssl, const unsigned char* buf, size_t len);
int __wrap_mbedtls_ssl_close_notify(mbedtls_ssl_context* ssl);
void __wrap_mbedtls_ssl_free(mbedtls_ssl_context* ssl);
void __wrap_mbedtls_ssl_config_free(mbedtls_ssl_config* conf);

#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
void __real_mbedtls_memory_buffer_alloc_init(unsigned char* buf, size_t len);
void __real_mbedtls_memory_buffer_alloc_free(void);
void __wrap_mbedtls_memory_buffer_alloc_init(unsigned char* buf, size_t len);
void __wrap_mbedtls_memory_buffer_alloc_free(void);
#endif
#endif
}

namespace {

// The program's own transport of one context, passed through with a tap
// that reports every TLS record it carries, as the driver's transport does.
struct TappedTransport {
    void* bio = nullptr;
    mbedtls_ssl_send_t* send = nullptr;
    mbedtls_ssl_recv_t* recv = nullptr;
    mbedtls_ssl_recv_timeout_t* recv_timeout = nullptr;
    tlsheap::recorder::TransportTap tap{&Recording::on_tls_record, &Recording::instance()};
};

extern "C" int tapped_send(void* context, const unsigned char* buf, size_t len) {
    auto* t = static_cast<TappedTransport*>(context);
    const int n = t->send(t->bio, buf, len);
    if (n > 0) {
        t->tap.observe(tlsheap::trace::Direction::Out, buf, static_cast<std::size_t>(n));
    }
    return n;
}

extern "C" int tapped_recv(void* context, unsigned char* buf, size_t len) {
    auto* t = static_cast<TappedTransport*>(context);
    const int n = t->recv(t->bio, buf, len);
    if (n > 0) {
        t->tap.observe(tlsheap::trace::Direction::In, buf, static_cast<std::size_t>(n));
    }
    return n;
}

extern "C" int tapped_recv_timeout(void* context, unsigned char* buf, size_t len,
                                   uint32_t timeout) {
    auto* t = static_cast<TappedTransport*>(context);
    const int n = t->recv_timeout(t->bio, buf, len, timeout);
    if (n > 0) {
        t->tap.observe(tlsheap::trace::Direction::In, buf, static_cast<std::size_t>(n));
    }
    return n;
}

struct Connection {
    std::uint32_t id;
    Phase phase;
    const unsigned char* in_buf = nullptr;
    const unsigned char* out_buf = nullptr;
    bool handshake_reported = false;
    std::unique_ptr<TappedTransport> transport;
};

// The program's contexts by address. std::map allocates with libc's malloc,
// never through mbedtls_calloc, so it adds nothing to the trace.
std::map<const mbedtls_ssl_context*, Connection>& connections() {
    static auto* map = new std::map<const mbedtls_ssl_context*, Connection>();
    return *map;
}
std::uint32_t g_next_id = tlsheap::trace::kFirstConnection;
bool g_side_written = false;
bool g_shared_teardown = false;

int state_of(const mbedtls_ssl_context* ssl) {
    return ssl->MBEDTLS_PRIVATE(state);
}

bool handshake_over(const mbedtls_ssl_context* ssl) {
    return state_of(ssl) == MBEDTLS_SSL_HANDSHAKE_OVER;
}

// Makes a tracked context's connection the one whose code runs, for the
// scope of one call into mbedTLS; the connection that ran before (the
// shared part, or the context a nested call came from) runs again after.
class ConnectionScope {
  public:
    explicit ConnectionScope(const mbedtls_ssl_context* ssl) : r_(Recording::instance()) {
        if (!r_.active()) {
            return;
        }
        const auto it = connections().find(ssl);
        if (it == connections().end()) {
            return;
        }
        connection_ = &it->second;
        previous_ = r_.current_connection();
        r_.connection(connection_->id);
    }
    ~ConnectionScope() {
        if (connection_ != nullptr && r_.active()) {
            r_.connection(previous_);
        }
    }
    // Marks the context's record buffers when they are new: set up, or
    // reallocated (MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH).
    void note_buffers(const mbedtls_ssl_context* ssl) {
        if (connection_ == nullptr || !r_.active()) {
            return;
        }
        const unsigned char* in = ssl->MBEDTLS_PRIVATE(in_buf);
        const unsigned char* out = ssl->MBEDTLS_PRIVATE(out_buf);
        if (in != nullptr && in != connection_->in_buf) {
            r_.role(in, tlsheap::trace::Role::InBuffer);
        }
        if (out != nullptr && out != connection_->out_buf) {
            r_.role(out, tlsheap::trace::Role::OutBuffer);
        }
        connection_->in_buf = in;
        connection_->out_buf = out;
        if (connection_->transport) {
            tlsheap::recorder::tap_connection_id_lengths(ssl, connection_->transport->tap);
        }
#if TLSHEAP_MBEDTLS_3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
        if (connection_->transport) {
            // TLS 1.3 handshake records stay readable after its
            // compatibility ChangeCipherSpec.
            connection_->transport->tap.set_tls13(ssl->MBEDTLS_PRIVATE(tls_version) ==
                                                  MBEDTLS_SSL_VERSION_TLS1_3);
        }
#endif
    }
    // The first time the handshake is over: its outcome, as the driver
    // writes it ("TLSv1.2 TLS-ECDHE-..."), which advise reads.
    void note_handshake_end(const mbedtls_ssl_context* ssl) {
        if (connection_ == nullptr || !r_.active() || connection_->handshake_reported ||
            !handshake_over(ssl)) {
            return;
        }
        connection_->handshake_reported = true;
        const std::string summary =
            std::string(mbedtls_ssl_get_version(ssl)) + " " + mbedtls_ssl_get_ciphersuite(ssl);
        r_.outcome(tlsheap::trace::OutcomeKind::Handshake, 0, state_of(ssl), summary);
    }
    Connection* connection() {
        return connection_;
    }
    ConnectionScope(const ConnectionScope&) = delete;
    ConnectionScope& operator=(const ConnectionScope&) = delete;

    bool tracked() const {
        return connection_ != nullptr;
    }
    void phase(Phase p) {
        if (connection_ != nullptr && r_.active() && connection_->phase != p) {
            connection_->phase = p;
            r_.phase(p);
        }
    }
    Phase current_phase() const {
        return connection_ ? connection_->phase : Phase::Setup;
    }
    // Reading or writing: the handshake until it is over, then application
    // data (CLOSE and TEARDOWN stay what they are).
    void phase_for_traffic(const mbedtls_ssl_context* ssl) {
        if (!handshake_over(ssl)) {
            phase(Phase::Handshake);
        } else if (current_phase() < Phase::Application) {
            phase(Phase::Application);
        }
    }

  private:
    Recording& r_;
    Connection* connection_ = nullptr;
    std::uint32_t previous_ = tlsheap::trace::kSharedConnection;
};

extern "C" void on_fatal_signal(int sig) {
    // A crashing program keeps what was recorded: a readable, truncated trace.
    Recording::instance().emergency_flush();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

void catch_fatal_signals() {
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTERM, SIGINT, SIGHUP}) {
        struct sigaction current {};
        // Only where the program keeps the default: its own handlers stay its own.
        if (sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
            std::signal(sig, on_fatal_signal);
        }
    }
}

// The trace this process writes; TLSHEAP_TRACE is gone from the environment
// once it is read.
std::string& trace_path() {
    static auto* path = new std::string();
    return *path;
}

extern "C" void finish_recording() {
    Recording& r = Recording::instance();
    if (r.active() && !r.finish()) {
        std::fprintf(stderr, "tlsheap: writing trace %s failed\n", trace_path().c_str());
    }
}

extern "C" void stop_in_child() {
    // A forked child shares the trace's file: only the parent writes it.
    Recording::instance().abandon();
}

__attribute__((constructor)) void start_recording() {
    const char* variable = std::getenv("TLSHEAP_TRACE");
    if (variable == nullptr || *variable == '\0') {
        return;
    }
    // The programs this one runs (a shell, a helper linked the same way)
    // would write the same file: only this process records.
    trace_path() = variable;
    unsetenv("TLSHEAP_TRACE");
#if defined(TLSHEAP_PRELOAD)
    tlsheap::recorder::forget_preload();
#endif
    const char* path = trace_path().c_str();
#if defined(TLSHEAP_PRELOAD)
    const char* version = tlsheap::recorder::shared_mbedtls_version();
    if (version == nullptr || !tlsheap::recorder::watch_shared_mbedtls()) {
        return; // said why on stderr; no trace
    }
#else
    const char* version = MBEDTLS_VERSION_STRING;
#endif
    // Stacks end wherever the frames do: main's frame is not known here.
    tlsheap::recorder::stack_capture_init(nullptr);
    Recording& r = Recording::instance();
    if (!r.start(path, true)) {
        std::fprintf(stderr, "tlsheap: cannot create trace %s: %s\n", path, std::strerror(errno));
        return;
    }
    namespace meta = tlsheap::trace::meta;
    tlsheap::recorder::describe_variant(r, version);
    r.meta(meta::kProgram, program_invocation_name);
    r.meta(meta::kStackBackend, tlsheap::recorder::stack_capture_backend());
    r.meta(meta::kAllocator, meta::kAllocatorLibc);
    r.meta(meta::kEntropy, meta::kEntropyProgram);
    r.connection(tlsheap::trace::kSharedConnection);
    r.phase(Phase::Setup);
    std::atexit(finish_recording);
    pthread_atfork(nullptr, nullptr, stop_in_child);
    catch_fatal_signals();
}

} // namespace

int TLSHEAP_HOOK(mbedtls_ssl_setup)(mbedtls_ssl_context* ssl, const mbedtls_ssl_config* conf) {
    Recording& r = Recording::instance();
    if (!r.active() || ssl == nullptr || conf == nullptr) {
        return TLSHEAP_REAL(mbedtls_ssl_setup)(ssl, conf);
    }
    namespace meta = tlsheap::trace::meta;
    if (!g_side_written) {
        // Known only now; finalizing the trace moves it into the description.
        const bool server = conf->MBEDTLS_PRIVATE(endpoint) == MBEDTLS_SSL_IS_SERVER;
        r.meta(meta::kRecorderSide, tlsheap::tls::side_name(server ? tlsheap::tls::Side::Server
                                                                   : tlsheap::tls::Side::Client));
        r.meta(meta::kTransport, conf->MBEDTLS_PRIVATE(transport) == MBEDTLS_SSL_TRANSPORT_DATAGRAM
                                     ? meta::kTransportDatagram
                                     : meta::kTransportStream);
        g_side_written = true;
    }
    // A context set up again without a free in between is a new connection.
    Connection& slot = connections()[ssl];
    // Its transport stays: ssl->p_bio may point to it still.
    std::unique_ptr<TappedTransport> transport = std::move(slot.transport);
    slot = Connection{g_next_id++, Phase::Setup, nullptr, nullptr, false, nullptr};
    slot.transport = std::move(transport);
    ConnectionScope scope(ssl);
    r.phase(Phase::Setup);
    const int ret = TLSHEAP_REAL(mbedtls_ssl_setup)(ssl, conf);
    scope.note_buffers(ssl);
    return ret;
}

void TLSHEAP_HOOK(mbedtls_ssl_set_bio)(mbedtls_ssl_context* ssl, void* p_bio,
                                       mbedtls_ssl_send_t* f_send, mbedtls_ssl_recv_t* f_recv,
                                       mbedtls_ssl_recv_timeout_t* f_recv_timeout) {
    ConnectionScope scope(ssl);
    Connection* c = scope.connection();
    if (c == nullptr || ssl->MBEDTLS_PRIVATE(conf) == nullptr) {
        TLSHEAP_REAL(mbedtls_ssl_set_bio)(ssl, p_bio, f_send, f_recv, f_recv_timeout);
        return;
    }
    auto t = std::make_unique<TappedTransport>();
    // A datagram transport: each send and receive is one datagram of DTLS records.
    t->tap.set_datagram(ssl->MBEDTLS_PRIVATE(conf)->MBEDTLS_PRIVATE(transport) ==
                        MBEDTLS_SSL_TRANSPORT_DATAGRAM);
    t->bio = p_bio;
    t->send = f_send;
    t->recv = f_recv;
    t->recv_timeout = f_recv_timeout;
    TLSHEAP_REAL(mbedtls_ssl_set_bio)
    (ssl, t.get(), f_send != nullptr ? tapped_send : nullptr,
     f_recv != nullptr ? tapped_recv : nullptr,
     f_recv_timeout != nullptr ? tapped_recv_timeout : nullptr);
    c->transport = std::move(t);
}

int TLSHEAP_HOOK(mbedtls_ssl_handshake)(mbedtls_ssl_context* ssl) {
    // ssl_tls.c's own loop, over the wrapped step: its call to
    // mbedtls_ssl_handshake_step is in the same file and cannot be wrapped.
    // Whatever the real function would refuse, it refuses itself.
    if (ssl == nullptr || ssl->MBEDTLS_PRIVATE(conf) == nullptr) {
        return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
    }
#if defined(MBEDTLS_SSL_PROTO_DTLS)
    if (ssl->MBEDTLS_PRIVATE(conf)->MBEDTLS_PRIVATE(transport) == MBEDTLS_SSL_TRANSPORT_DATAGRAM &&
        (ssl->MBEDTLS_PRIVATE(f_set_timer) == nullptr ||
         ssl->MBEDTLS_PRIVATE(f_get_timer) == nullptr)) {
        return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
    }
#endif
    int ret = 0;
    while (!handshake_over(ssl)) {
        ret = TLSHEAP_HOOK(mbedtls_ssl_handshake_step)(ssl);
        if (ret != 0) {
            break;
        }
    }
    return ret;
}

int TLSHEAP_HOOK(mbedtls_ssl_handshake_step)(mbedtls_ssl_context* ssl) {
    ConnectionScope scope(ssl);
    if (!scope.tracked()) {
        return TLSHEAP_REAL(mbedtls_ssl_handshake_step)(ssl);
    }
    Recording& r = Recording::instance();
    scope.phase(Phase::Handshake);
    r.step_begin(state_of(ssl));
    const int ret = TLSHEAP_REAL(mbedtls_ssl_handshake_step)(ssl);
    r.step_end(state_of(ssl), ret);
    scope.note_buffers(ssl);
    if (handshake_over(ssl)) {
        scope.note_handshake_end(ssl);
        scope.phase(Phase::Application);
    }
    return ret;
}

int TLSHEAP_HOOK(mbedtls_ssl_read)(mbedtls_ssl_context* ssl, unsigned char* buf, size_t len) {
    ConnectionScope scope(ssl);
    scope.phase_for_traffic(ssl);
    const int ret = TLSHEAP_REAL(mbedtls_ssl_read)(ssl, buf, len);
    scope.note_buffers(ssl);
    scope.phase_for_traffic(ssl);
    return ret;
}

int TLSHEAP_HOOK(mbedtls_ssl_write)(mbedtls_ssl_context* ssl, const unsigned char* buf,
                                    size_t len) {
    ConnectionScope scope(ssl);
    scope.phase_for_traffic(ssl);
    const int ret = TLSHEAP_REAL(mbedtls_ssl_write)(ssl, buf, len);
    scope.note_buffers(ssl);
    scope.phase_for_traffic(ssl);
    return ret;
}

int TLSHEAP_HOOK(mbedtls_ssl_close_notify)(mbedtls_ssl_context* ssl) {
    ConnectionScope scope(ssl);
    scope.phase(Phase::Close);
    return TLSHEAP_REAL(mbedtls_ssl_close_notify)(ssl);
}

void TLSHEAP_HOOK(mbedtls_ssl_free)(mbedtls_ssl_context* ssl) {
    {
        ConnectionScope scope(ssl);
        scope.phase(Phase::Teardown);
        TLSHEAP_REAL(mbedtls_ssl_free)(ssl);
    }
    connections().erase(ssl);
}

void TLSHEAP_HOOK(mbedtls_ssl_config_free)(mbedtls_ssl_config* conf) {
    Recording& r = Recording::instance();
    if (r.active() && !g_shared_teardown) {
        const std::uint32_t previous = r.current_connection();
        r.connection(tlsheap::trace::kSharedConnection);
        r.phase(Phase::Teardown);
        r.connection(previous);
        g_shared_teardown = true;
    }
    TLSHEAP_REAL(mbedtls_ssl_config_free)(conf);
}

#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C) && !defined(TLSHEAP_PRELOAD)

namespace {
std::uintptr_t g_pool_base = 0;
std::size_t g_pool_size = 0;
} // namespace

void TLSHEAP_HOOK(mbedtls_memory_buffer_alloc_init)(unsigned char* buf, size_t len) {
    Recording& r = Recording::instance();
    if (r.active() && len >= MBEDTLS_MEMORY_ALIGN_MULTIPLE) {
        // The pool as memory_buffer_alloc_init adjusts it: an unaligned
        // buffer starts at the next multiple of MBEDTLS_MEMORY_ALIGN_MULTIPLE.
        auto base = reinterpret_cast<std::uintptr_t>(buf);
        std::size_t size = len;
        if (const std::size_t off = base % MBEDTLS_MEMORY_ALIGN_MULTIPLE; off != 0) {
            base += MBEDTLS_MEMORY_ALIGN_MULTIPLE - off;
            size -= MBEDTLS_MEMORY_ALIGN_MULTIPLE - off;
        }
        g_pool_base = base;
        g_pool_size = size;
        namespace meta = tlsheap::trace::meta;
        r.meta(meta::kAllocator, meta::kAllocatorMemoryBufferAlloc);
        r.meta(meta::kPoolSize, std::to_string(size));
        r.meta(meta::kPoolBase, std::to_string(base));
    }
    TLSHEAP_REAL(mbedtls_memory_buffer_alloc_init)(buf, len);
}

void TLSHEAP_HOOK(mbedtls_memory_buffer_alloc_free)(void) {
    Recording& r = Recording::instance();
    if (r.active() && g_pool_base != 0) {
        size_t max_used = 0, max_blocks = 0, cur_used = 0, cur_blocks = 0;
#if defined(MBEDTLS_MEMORY_DEBUG)
        mbedtls_memory_buffer_alloc_max_get(&max_used, &max_blocks);
        mbedtls_memory_buffer_alloc_cur_get(&cur_used, &cur_blocks);
#endif
        r.pool_stats(g_pool_size, tlsheap::recorder::kPoolHeaderSize, max_used, max_blocks,
                     cur_used, cur_blocks, g_pool_base);
        g_pool_base = 0;
    }
    TLSHEAP_REAL(mbedtls_memory_buffer_alloc_free)();
}

#endif
