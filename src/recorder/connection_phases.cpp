#include "connection_phases.h"

#include "connection_exchange.h"
#include "library_heap.h"
#include "recording.h"
#include "shared_tls_config.h"
#include "tls_connection.h"

#include <memory>
#include <vector>

namespace tlsheap::recorder {

namespace {

using trace::Phase;

// One connection of a cycle and what is said over it.
struct OpenConnection {
    OpenConnection(const RecorderOptions& options, std::uint32_t id, ConnectionResult& result,
                   SessionResumption& resumption)
        : connection(options, id), exchange(connection, result, resumption) {}
    TlsConnection connection;
    ConnectionExchange exchange;
};

using Cycle = std::vector<std::unique_ptr<OpenConnection>>;

// Makes `c` the connection whose code runs, in `phase`.
void enter(OpenConnection& c, Phase phase) {
    Recording& r = Recording::instance();
    r.connection(c.connection.id());
    r.phase(phase);
}

bool open(OpenConnection& c, SharedTlsConfig& shared, Listener* listener,
          ConnectionResult& result) {
    enter(c, Phase::Setup);
    return c.connection.setup(shared, result) && shared.resumption().offer(c.connection, result) &&
           c.connection.open(listener, result);
}

bool converse(OpenConnection& c) {
    enter(c, Phase::Handshake);
    if (!c.exchange.handshake()) {
        return false;
    }
    enter(c, Phase::Application);
    return c.exchange.application_data();
}

// Every handshake of the cycle at once: one turn of each in order, round
// after round, until all are over.
bool handshake_together(Cycle& cycle) {
    Recording& r = Recording::instance();
    for (auto& c : cycle) {
        enter(*c, Phase::Handshake);
    }
    std::vector<bool> over(cycle.size(), false);
    for (std::size_t left = cycle.size(); left > 0;) {
        for (std::size_t i = 0; i < cycle.size(); ++i) {
            if (over[i]) {
                continue;
            }
            OpenConnection& c = *cycle[i];
            r.connection(c.connection.id());
            c.connection.transport().begin_turn();
            const ConnectionExchange::Turn turn = c.exchange.handshake_turn();
            if (turn == ConnectionExchange::Turn::Failed) {
                return false;
            }
            if (turn == ConnectionExchange::Turn::Over) {
                over[i] = true;
                --left;
                c.connection.transport().end_turns();
            }
        }
    }
    return true;
}

// One cycle: `count` connections numbered from `first_id`, opened as the
// lifecycle says, then closed and freed in the order they were opened.
bool run_cycle(const RecorderOptions& o, SharedTlsConfig& shared, Listener* listener,
               std::uint32_t first_id, ConnectionResult& result) {
    const unsigned count = o.lifecycle.connections;
    Cycle cycle;
    bool ok = true;
    if (o.lifecycle.start == lifecycle::Start::Staggered || count == 1) {
        for (unsigned i = 0; ok && i < count; ++i) {
            cycle.push_back(
                std::make_unique<OpenConnection>(o, first_id + i, result, shared.resumption()));
            ok = open(*cycle.back(), shared, listener, result) && converse(*cycle.back());
        }
    } else {
        for (unsigned i = 0; ok && i < count; ++i) {
            cycle.push_back(
                std::make_unique<OpenConnection>(o, first_id + i, result, shared.resumption()));
            ok = open(*cycle.back(), shared, listener, result);
        }
        ok = ok && handshake_together(cycle);
        for (std::size_t i = 0; ok && i < cycle.size(); ++i) {
            enter(*cycle[i], Phase::Application);
            ok = cycle[i]->exchange.application_data();
        }
    }
    for (std::size_t i = 0; ok && i < cycle.size(); ++i) {
        enter(*cycle[i], Phase::Close);
        cycle[i]->exchange.close();
    }
    for (auto& c : cycle) {
        enter(*c, Phase::Teardown);
        c->connection.free();
    }
    return ok;
}

} // namespace

ConnectionResult run_lifecycle(const RecorderOptions& options, Listener* listener) {
    Recording& r = Recording::instance();
    ConnectionResult result;
    LibraryHeap heap;
    SharedTlsConfig shared;

    r.connection(trace::kSharedConnection);
    r.phase(Phase::Setup);
    bool ok = heap.init(options, result) && shared.build(options, result);
    std::uint32_t next_id = trace::kFirstConnection;
    for (unsigned cycle = 0; ok && cycle < options.lifecycle.reconnects; ++cycle) {
        ok = run_cycle(options, shared, listener, next_id, result);
        next_id += options.lifecycle.connections;
    }

    // What connections share, after every connection, the heap last.
    r.connection(trace::kSharedConnection);
    r.phase(Phase::Teardown);
    shared.free();
    heap.release();
    r.flush();
    return result;
}

} // namespace tlsheap::recorder
