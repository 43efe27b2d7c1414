#include "connection_phases.h"

#include "connection_exchange.h"
#include "library_heap.h"
#include "recording.h"
#include "shared_tls_config.h"
#include "tls_connection.h"

namespace tlsheap::recorder {

ConnectionResult run_connection(const RecorderOptions& options, Listener* listener) {
    using trace::Phase;
    Recording& r = Recording::instance();
    ConnectionResult result;
    LibraryHeap heap;
    SharedTlsConfig shared;
    TlsConnection connection(options);

    r.phase(Phase::Setup);
    bool ok = heap.init(options, result) && shared.build(options, result) &&
              connection.setup(shared, result) && connection.open(listener, result);
    if (ok) {
        ConnectionExchange exchange(connection, result);
        r.phase(Phase::Handshake);
        ok = exchange.handshake();
        if (ok) {
            r.phase(Phase::Application);
            ok = exchange.application_data();
        }
        if (ok) {
            r.phase(Phase::Close);
            exchange.close();
        }
    }

    // Connections before what they share, the heap they came from last.
    r.phase(Phase::Teardown);
    connection.free();
    shared.free();
    heap.release();
    r.flush();
    return result;
}

} // namespace tlsheap::recorder
