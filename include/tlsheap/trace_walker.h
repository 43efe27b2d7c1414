// One way to read a trace. The walker follows a stream of records and keeps
// the context that every reader of a trace needs: what the trace says about
// itself (TraceInfo), the connection whose code runs, each connection's
// phase and handshake state, the open activities, the blocks alive with the
// context they were made in, and which allocations are the record buffers. For every record it
// first updates that context, then calls its client's hooks (heaptrack's AccumulatedTraceData plays
// the same part there). The replay engine, the buffer-scheme transforms, the handshake-needs
// analysis and `trace show`/`trace export` are its clients, so that they cannot disagree on what a
// record means.
#pragma once

#include "tlsheap/trace_format.h"
#include "tlsheap/trace_info.h"
#include "tlsheap/trace_reader.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tlsheap::trace {

// An allocation of the recording that is alive, and the context it was made in.
struct LiveAllocation {
    std::uint64_t seq = 0;
    std::uint64_t address = 0;
    std::uint64_t size = 0; // count * size as recorded
    std::uint64_t time_ns = 0;
    std::uint32_t stack = 0;
    std::uint32_t state = 0;
    std::uint32_t activity = 0; // innermost open Activity (TraceWalker::activity_name), 0 = none
    std::uint32_t connection = kSharedConnection; // whose code allocated it
    Phase phase = Phase::Setup;
};

// What a Free record ends.
enum class FreeKind {
    Null,       // free(NULL)
    Known,      // a live allocation
    DoubleFree, // a block freed before (its seq or its address)
    Unknown,    // an address that was never allocated
};

// How a connection's handshake went, from the outcome that follows it
// (format 1.2): a full handshake, a resumed session, or a full handshake
// although the client offered a session (the server refused it).
enum class HandshakeKind { Full, Resumed, NotResumed };

// A client of the walker. Every hook runs after the context was updated for
// the record it is given.
class WalkerHooks {
  public:
    virtual ~WalkerHooks() = default;
    // Meta, Config, StateName, Module, Stack, Frame: already in info().
    virtual void on_description(const Record& /*r*/) {}
    // An allocation; `block` is null when it returned NULL. `slot` is the
    // block's index among the live blocks (stable while it lives, reused
    // after), for clients that keep their own data per block.
    virtual void on_alloc(const Record& /*r*/, const LiveAllocation* /*block*/,
                          std::uint32_t /*slot*/) {}
    // A free. For FreeKind::Known, `block` is the allocation it ends, no
    // longer among the live blocks but readable during the call.
    virtual void on_free(const Record& /*r*/, FreeKind /*kind*/, const LiveAllocation* /*block*/,
                         std::uint32_t /*slot*/) {}
    // A Phase record; phase() is already the new one (of connection()).
    // `previous` is the phase of the Phase record before it, whichever
    // connection that was for: in a trace of one connection, the phase that
    // just ended, also when the shared part's TEARDOWN follows the
    // connection's.
    virtual void on_phase(const Record& /*r*/, Phase /*previous*/) {}
    // A Connection record that changed connection(); phase() and state()
    // are already those of the new connection.
    virtual void on_connection(const Record& /*r*/, std::uint32_t /*previous*/) {}
    // Every other record (StepBegin, StepEnd, Activity, TlsRecord, Role,
    // Outcome, PoolStats, End, a Connection record naming the current one).
    virtual void on_context(const Record& /*r*/) {}
};

class TraceWalker {
  public:
    TraceWalker();
    ~TraceWalker();
    TraceWalker(const TraceWalker&) = delete;
    TraceWalker& operator=(const TraceWalker&) = delete;

    // For a walk whose clients act only on frees of live blocks (the
    // models'): no addresses of freed blocks are kept, and a double free is
    // reported as FreeKind::Unknown unless the free names the block's seq.
    void keep_no_freed_addresses() { keep_freed_ = false; }

    // Updates the context with one record, then calls the hooks (if any).
    void feed(const Record& r, WalkerHooks* hooks = nullptr);
    // Feeds every record of a source (TraceReader, RecordSource, ...).
    template <typename Source>
    void walk(Source& source, WalkerHooks& hooks) {
        Record r;
        while (source.next(r)) {
            feed(r, &hooks);
        }
    }
    // The same for a reader that wants only the context at the end.
    template <typename Source>
    void walk(Source& source) {
        Record r;
        while (source.next(r)) {
            feed(r);
        }
    }

    const TraceInfo& info() const { return info_; }
    // The description, for a result that outlives the walk.
    TraceInfo take_info() { return std::move(info_); }

    // The connection the current record belongs to: the last Connection
    // record's, or in a trace without any (format 1.0, one connection)
    // kSharedConnection until the first ssl_setup activity and
    // kFirstConnection from then on. Every hook can read it.
    std::uint32_t connection() const { return connection_; }
    // Whether the trace has Connection records (a lifecycle recording).
    bool connection_records() const { return connection_records_; }
    // One more than the highest connection seen (1 before any event).
    std::uint32_t connection_count() const {
        return static_cast<std::uint32_t>(connections_.size());
    }

    // The phase and handshake state of the current connection.
    Phase phase() const { return phase_; }
    // The handshake state of the latest StepBegin/StepEnd (0 before any).
    std::uint32_t state() const { return state_; }
    // The same of any connection (Setup and 0 for one not seen).
    Phase phase_of(std::uint32_t connection) const;
    std::uint32_t state_of(std::uint32_t connection) const;
    bool stepped() const { return stepped_; }
    // Innermost open activity ("" if none), and the name of an activity id.
    const std::string& activity() const;
    const std::string& activity_name(std::uint32_t id) const;
    std::uint64_t events() const { return events_; }

    // The live blocks.
    const LiveAllocation* live(std::uint64_t seq) const;
    std::size_t live_count() const;
    std::uint64_t live_bytes() const { return live_bytes_; }
    // Bytes alive that `connection` allocated.
    std::uint64_t live_bytes_of(std::uint32_t connection) const {
        return connection < connections_.size() ? connections_[connection].live_bytes : 0;
    }
    // Every live block, oldest first (for reports and the transforms, whose
    // output must not depend on hashing).
    std::vector<const LiveAllocation*> live_in_seq_order() const;
    // Slots ever handed out: clients size their per-block arrays by it.
    std::uint32_t slot_capacity() const;
    // The slot of a live block (one of live()'s or live_in_seq_order()'s).
    std::uint32_t slot_of(const LiveAllocation& block) const;

    // Record buffers named by Role records.
    bool roles_seen() const { return !role_of_seq_.empty(); }
    std::optional<Role> role_of(std::uint64_t seq) const;
    // The allocation most recently named as `role` (0 if none).
    std::uint64_t current_buffer(Role role) const {
        return current_buffer_[static_cast<unsigned>(role)];
    }
    // The same for one connection.
    std::uint64_t current_buffer(Role role, std::uint32_t connection) const {
        return connection < connections_.size()
                   ? connections_[connection].current_buffer[static_cast<unsigned>(role)]
                   : 0;
    }
    // Whether `connection` resumed a session, or offered one in vain.
    HandshakeKind handshake_kind_of(std::uint32_t connection) const {
        return connection < connections_.size() ? connections_[connection].handshake
                                                : HandshakeKind::Full;
    }
    bool resumed(std::uint32_t connection) const {
        return handshake_kind_of(connection) == HandshakeKind::Resumed;
    }
    // What became of `connection`'s 0-RTT data; nothing when it had none to
    // send (format 1.3).
    std::optional<EarlyDataStatus> early_data_of(std::uint32_t connection) const {
        return connection < connections_.size() ? connections_[connection].early_data
                                                : std::nullopt;
    }
    std::uint64_t tls_records() const { return tls_records_; }
    std::uint64_t tls_records_of(std::uint32_t connection) const {
        return connection < connections_.size() ? connections_[connection].tls_records : 0;
    }

  private:
    class LiveSet;
    // What the walker keeps per connection. The current connection's phase
    // and state live in phase_ and state_ while it runs.
    struct ConnectionContext {
        Phase phase = Phase::Setup;
        std::uint32_t state = 0;
        std::uint64_t live_bytes = 0;
        std::uint64_t tls_records = 0;
        HandshakeKind handshake = HandshakeKind::Full;
        std::optional<EarlyDataStatus> early_data;
        std::array<std::uint64_t, 3> current_buffer{0, 0, 0};
    };
    ConnectionContext& context_of(std::uint32_t connection);
    // Makes `connection` current; false if it already was.
    bool switch_connection(std::uint32_t connection);
    void on_alloc(const Record& r, WalkerHooks* hooks);
    void on_free(const Record& r, WalkerHooks* hooks);
    void on_activity(const Record& r);

    TraceInfo info_;
    std::unique_ptr<LiveSet> live_;
    std::uint64_t live_bytes_ = 0;
    std::uint64_t events_ = 0;
    Phase phase_ = Phase::Setup;
    std::uint32_t state_ = 0;
    bool stepped_ = false;
    std::vector<ConnectionContext> connections_ = std::vector<ConnectionContext>(1);
    std::uint32_t connection_ = kSharedConnection;
    bool connection_records_ = false;
    Phase timeline_phase_ = Phase::Setup; // of the latest Phase record
    std::vector<std::uint32_t> open_activities_;
    std::vector<std::string> activity_names_; // id - 1 -> name
    std::unordered_map<std::string, std::uint32_t> activity_ids_;
    std::unordered_map<std::uint64_t, Role> role_of_seq_;
    std::array<std::uint64_t, 3> current_buffer_{0, 0, 0};
    std::uint64_t tls_records_ = 0;
    bool keep_freed_ = true;
};

} // namespace tlsheap::trace
