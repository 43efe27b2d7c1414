// Streams a trace once and computes everything the reports show: the
// recording's own figures (live peak and where it happened, per phase and per
// handshake state, what is alive at the peak by call site, steady state,
// record buffers, leaks) and, for every allocator model, the same stream
// replayed through that heap (footprint, overhead, fragmentation, failures
// under a pool limit, the allocator's own statistics).
#pragma once

#include "tlsheap/allocator_model.h"
#include "tlsheap/record_source.h"
#include "tlsheap/trace_info.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/trace_walker.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::replay {

using trace::Phase;

class AllocationStream; // allocation_stream.h

// Where in the recording something happened.
struct Moment {
    std::uint64_t seq = 0;
    std::uint64_t time_ns = 0;
    Phase phase = Phase::Setup;
    std::uint32_t state = 0;
    std::uint32_t stack = 0;                             // stack of the event, 0 if none
    std::uint32_t connection = trace::kSharedConnection; // whose code ran
};

struct Peak {
    std::uint64_t bytes = 0;
    Moment at;
};

struct StateFigures {
    std::uint32_t state = 0;
    Peak peak; // live bytes, highest while this state was processed
    std::uint64_t allocs = 0;
    std::uint64_t frees = 0;
    std::uint64_t bytes_allocated = 0;
    std::uint64_t steps = 0; // handshake steps spent in this state
    // The deepest stack a step of this state used below the recorder's call
    // into mbedTLS (StackHighWater records); 0 when not measured.
    std::uint64_t stack = 0;
};

struct PhaseFigures {
    bool seen = false;
    Peak peak;
    std::uint64_t allocs = 0;
    std::uint64_t frees = 0;
    std::uint64_t bytes_allocated = 0;
    std::uint64_t live_at_end = 0;
    std::uint64_t stack = 0; // as StateFigures::stack, for the whole phase
};

// What the painted stack measured (trace format 1.4): the stack next to the
// heap, as a device budgets its RAM.
struct StackFigures {
    std::uint64_t painted = 0; // the painted stack's size (Meta stack.painted)
    // The deepest below the recorder's call into mbedTLS (StackHighWater
    // deepest - base), and where: what mbedTLS needs below the caller's frame.
    std::uint64_t below_call = 0;
    // The deepest from the painted stack's top, the recorder's own frames
    // above the call included.
    std::uint64_t deepest = 0;
    Phase phase = Phase::Setup;
    std::uint32_t state = 0;
    bool in_step = false; // state is meaningful: the deepest was inside a handshake step
    std::uint32_t connection = 0;
};

// Bytes alive at some moment, grouped by call site.
struct SiteBytes {
    std::string site;        // CallSite::label()
    std::uint32_t stack = 0; // one representative stack
    std::uint64_t bytes = 0;
    std::uint64_t blocks = 0;
};

// Bytes by whole call stack (the trace's stack id): what a flame graph draws.
struct StackBytes {
    std::uint32_t stack = 0;
    std::uint64_t bytes = 0;
    std::uint64_t blocks = 0;
};

// One connection's handshake (its HANDSHAKE phase), for the comparison of
// full and resumed handshakes.
struct HandshakeFigures {
    std::uint32_t connection = 0;
    trace::HandshakeKind kind = trace::HandshakeKind::Full;
    bool complete = false;             // its Handshake outcome was recorded
    std::uint64_t peak_connection = 0; // most bytes alive that the connection allocated
    std::uint64_t peak_heap = 0;       // most bytes alive in the heap at its allocations
    std::uint64_t allocs = 0;
    std::uint64_t bytes_allocated = 0;
    std::uint64_t steps = 0;
    std::uint64_t records_in = 0; // TLS records received
    std::uint64_t bytes_in = 0;   // their bytes, headers included
    // Bytes allocated under x509_crt_parse* or ssl_parse_certificate_chain:
    // parsing the peer's certificate chain, what a resumed handshake skips.
    std::uint64_t chain_parse_bytes = 0;
    // What became of its 0-RTT data, in a run with early data (format 1.3).
    std::optional<trace::EarlyDataStatus> early_data;
};

// Full vs resumed handshakes, in a trace where sessions were resumed (or
// offered and refused).
struct ResumptionFigures {
    std::string mode;                         // "session-id" or "ticket" (trace meta)
    std::vector<HandshakeFigures> handshakes; // every connection's, in order
    // Call sites the first full handshake allocated from and no resumed one
    // did, with the full handshake's bytes, largest first.
    std::vector<SiteBytes> not_in_resumed;

    const HandshakeFigures* first(trace::HandshakeKind kind) const;
};

struct Block {
    std::uint64_t seq = 0;
    std::uint64_t size = 0;
    Moment at;
};

struct BufferRole {
    trace::Role role = trace::Role::InBuffer;
    Block block;
};

struct Finding {
    enum class Kind { UnknownFree, DoubleFree, FailedAllocation, ZeroSizeAllocation };
    Kind kind = Kind::UnknownFree;
    Moment at;
    std::uint64_t size = 0;
    std::string message;
};

// The records that crossed the wire, per trace::Direction (0 sent, 1
// received). DTLS adds what the datagrams did: records sent again, dropped by
// the recorder on purpose, and records carrying part of a handshake message.
struct TlsRecordSummary {
    std::uint64_t count[2] = {0, 0};
    std::uint64_t bytes[2] = {0, 0};
    std::uint32_t largest[2] = {0, 0};
    bool datagram = false; // some record came in a UDP datagram (DTLS)
    std::uint64_t retransmitted[2] = {0, 0};
    std::uint64_t retransmitted_bytes[2] = {0, 0};
    std::uint64_t dropped[2] = {0, 0};
    std::uint64_t dropped_bytes[2] = {0, 0};
    std::uint64_t fragments[2] = {0, 0}; // records with flag Fragment

    // Counts one TlsRecord of the trace.
    void add(trace::Direction direction, std::uint32_t length, std::uint8_t flags) {
        const auto d = static_cast<unsigned>(direction);
        ++count[d];
        bytes[d] += length;
        largest[d] = std::max(largest[d], length);
        datagram = datagram || (flags & trace::kRecordDatagram) != 0;
        if ((flags & trace::kRecordRetransmission) != 0) {
            ++retransmitted[d];
            retransmitted_bytes[d] += length;
        }
        if ((flags & trace::kRecordDropped) != 0) {
            ++dropped[d];
            dropped_bytes[d] += length;
        }
        fragments[d] += (flags & trace::kRecordFragment) != 0;
    }
};

struct Outcome {
    trace::OutcomeKind kind = trace::OutcomeKind::Handshake;
    std::int64_t ret = 0;
    std::uint32_t state = 0;
    std::string text;
    std::uint32_t connection = trace::kSharedConnection; // whose outcome
    // Handshake steps the connection had taken when the outcome came.
    std::uint64_t steps = 0;
};

struct SeriesPoint {
    std::uint64_t seq = 0;                // last event of the bucket
    std::uint64_t live = 0;               // live bytes at the end of the bucket
    std::uint64_t live_max = 0;           // highest live bytes inside the bucket
    std::vector<std::uint64_t> footprint; // per model, at the end of the bucket
    std::vector<std::uint64_t> used_max;  // per model, highest in-use bytes in the bucket
    // Per model, what its heap API reports at the end of the bucket: only
    // on a heap of fixed size (ReplayOptions::pool_size), else empty.
    std::vector<HeapFigures> heap;
};

struct ModelFailure {
    Moment at;
    std::uint64_t size = 0;
};

// A model's heap figures (what the device's API would report) at one
// allocation of a replay on a heap of fixed size.
struct HeapMoment {
    HeapFigures figures;
    Moment at;
    std::uint64_t allocation = 0; // its number among the allocations replayed, from 1
    std::uint64_t size = 0;       // bytes requested
};

// A replay on a device heap of fixed size (--heap): it fits, with the
// headroom seen after every allocation, or the first allocation fails.
struct HeapVerdict {
    std::uint64_t heap_size = 0;
    std::string figures_source; // the API the figures follow (AllocatorModel::heap_figures_source)
    // Headroom until the first failure: the lowest free bytes and the
    // smallest largest-free-block after any allocation, where they were seen.
    std::optional<HeapMoment> lowest_free;
    std::optional<HeapMoment> smallest_largest_free_block;
    // The first allocation that failed, with the figures at that moment.
    std::optional<HeapMoment> first_failure;

    bool fits() const { return !first_failure; }
    // The failure came from fragmentation: enough bytes were free, in no
    // single block that could serve the request.
    bool fragmentation() const {
        return first_failure && first_failure->figures.free_bytes >= first_failure->size &&
               first_failure->figures.largest_request < first_failure->size;
    }
};

struct ModelRun {
    std::string name;
    std::string description;
    std::optional<std::uint64_t> pool_size;
    std::uint64_t footprint = 0;
    Moment footprint_raised; // the event that last raised the footprint
    Peak used_peak;          // bytes in live blocks, headers included
    std::uint64_t footprint_at_live_peak = 0;
    std::uint64_t free_at_footprint_peak = 0;
    std::uint64_t largest_free_at_footprint_peak = 0;
    std::array<Peak, trace::kPhaseCount> phase_used_peak{};
    std::array<std::uint64_t, trace::kPhaseCount> phase_footprint_end{};
    std::map<std::uint32_t, Peak> state_used_peak;
    std::optional<std::uint64_t> used_after_handshake;
    std::vector<ModelFailure> failures; // first few, in order
    std::uint64_t failure_count = 0;
    std::optional<HeapVerdict> heap; // with a pool size (--heap)
    std::vector<std::pair<std::string, std::uint64_t>> statistics;
    std::string invariant_violation; // first verify() failure, if checked
    bool placement_independent_of_pool_end = false;
    std::uint64_t min_pool_one_pass = 0; // valid when placement is independent of the end
    // When the trace was recorded on mbedTLS's own memory_buffer_alloc and
    // this model reproduces it (AllocatorModel::reproduces): every
    // allocation's offset checked against the real address minus the pool start.
    // The comparison runs the model in a pool of the real one's size (a copy
    // of the model when this one runs unbounded or in another pool): a tail
    // handed out whole near the pool's end moves every later block.
    bool compared_with_real_pool = false;
    std::uint64_t real_pool_size = 0;
    std::uint64_t real_pool_matches = 0;
    std::uint64_t real_pool_mismatches = 0;
    std::string first_mismatch;
};

// One cycle of a lifecycle recording: the connections open together, from
// the first one's start until all of them were torn down.
struct CycleRow {
    std::uint32_t cycle = 0; // from 1
    std::uint32_t first_connection = 0;
    std::uint32_t connections = 0;
    std::uint64_t end_seq = 0;     // the last event of the cycle
    std::uint64_t live_at_end = 0; // every connection's and the shared part's bytes
    std::uint64_t live_peak = 0;   // highest live bytes during the cycle
    // Bytes the cycle's connections still held after their TEARDOWN.
    std::uint64_t leaked = 0;
    std::vector<std::uint64_t> footprint; // per model, at the cycle's end
    std::vector<HeapFigures> heap;        // per model at the cycle's end, with a pool size
};

// A lifecycle recording restricted to its shared part and connections 1..k
// (ConnectionSubsetSource), replayed.
struct ConnectionPrefix {
    std::uint32_t connections = 0; // k
    std::uint64_t live_peak = 0;
    // Per model, in the order of ReplayResult::models; empty when this
    // prefix was not replayed through the models (see connection_costs.h).
    std::vector<std::uint64_t> footprint;
};

// What the connections of a recording with more than one cost
// (connection_costs.h): the shared part, each connection's own bytes, and
// the live peak and footprints with the first k connections, k = 0..N.
struct ConnectionCosts {
    std::uint32_t connections = 0; // N: connections 1..N
    std::uint32_t most_open = 0;   // the most connections holding memory at once
    std::uint64_t shared_peak = 0; // connection 0's own live bytes, highest
    // Connection 0's live bytes when the first connection allocated: what
    // every connection shares before any is opened.
    std::uint64_t shared_steady = 0;
    std::vector<std::uint64_t> own_peak;    // [c - 1]: connection c's own live bytes, highest
    std::vector<ConnectionPrefix> prefixes; // [k]: shared part + connections 1..k
};

struct ReplayOptions {
    std::vector<ModelSpec> models;
    std::optional<std::uint64_t> pool_size;
    // With pool_size: each model's HeapVerdict and the heap figures of every
    // cycle. A min pool search, which only asks whether the trace fits, goes
    // faster without them.
    bool heap_verdicts = true;
    // Bytes by whole stack (stacks_alive_at_peak, stacks_allocated): a map
    // update per allocation that only the folded-stack export reads.
    bool stack_tables = false;
    unsigned series_points = 256;
    // Run every model's verify() after every event (tests; slow).
    bool verify_every_event = false;
    // Keep at most this many findings/failures in detail.
    unsigned max_findings = 20;
};

struct ReplayResult {
    trace::TraceInfo info;
    bool complete = false;
    bool truncated = false;
    std::string truncation_message;

    std::uint64_t events = 0;
    std::uint64_t allocs = 0;
    std::uint64_t frees = 0;
    std::uint64_t null_frees = 0;
    std::uint64_t failed_allocs = 0;
    std::uint64_t zero_size_allocs = 0;
    std::uint64_t bytes_allocated = 0;
    std::uint64_t duration_ns = 0;

    Peak live_peak;
    std::vector<SiteBytes> alive_at_peak; // every call site, largest first
    // With ReplayOptions::stack_tables: the same blocks by whole stack, and
    // every allocation's bytes by stack; both by stack id.
    std::vector<StackBytes> stacks_alive_at_peak;
    std::vector<StackBytes> stacks_allocated;
    std::array<PhaseFigures, trace::kPhaseCount> phases{};
    std::vector<StateFigures> states; // handshake states, in the order first stepped
    std::optional<std::uint64_t> live_after_handshake; // steady state
    std::uint64_t application_peak = 0;
    std::vector<BufferRole> record_buffers;
    bool teardown_reached = false;
    std::vector<Block> leaks; // alive after TEARDOWN
    std::uint64_t leaked_bytes = 0;
    std::vector<Finding> findings;
    TlsRecordSummary records;
    std::vector<Outcome> outcomes;
    std::optional<ResumptionFigures> resumption; // when a connection resumed or tried to
    std::vector<std::uint64_t> pool_stats;       // the real allocator's own, when recorded on it
    std::optional<StackFigures> stack;           // when the recorder painted its stack
    std::vector<SeriesPoint> series;
    std::vector<ModelRun> models;
    // Every cycle of a lifecycle recording, in order (one row for a trace of
    // one connection).
    std::vector<CycleRow> cycles;
    // The smallest pool each model runs the trace in (see min_pool.h), when
    // the caller asked for it: by model name.
    std::map<std::string, std::uint64_t> min_pools;
    // A recording that failed part-way gives bounds, not answers: the rest of
    // the run could only need more. A model that reproduces the real pool the
    // recording failed in needs more than that pool (min_pools then holds the
    // pool's size). By model name; absent means exact.
    enum class MinPoolBound { AtLeast, MoreThan };
    std::map<std::string, MinPoolBound> min_pool_bounds;
    // Connections 1..N the trace opened (0 before any).
    std::uint32_t connections = 0;
    // With more than one connection, when the caller asked (profile_trace does).
    std::optional<ConnectionCosts> connection_costs;

    // The handshake's own result, if the trace has one.
    const Outcome* handshake_outcome() const;
    const Outcome* failure() const;
};

// Replays the whole stream. Throws trace::TraceError on corruption and
// ModelError on a bad model spec.
ReplayResult replay_trace(RecordSource& source, const ReplayOptions& options);
ReplayResult replay_trace(trace::TraceReader& reader, const ReplayOptions& options);
// The same, also filling `stream` with the walk's allocation stream
// (allocation_stream.h): the min-pool search then needs no second decode;
// and handing every event to `also` too, when given (after the engine).
ReplayResult replay_trace(RecordSource& source, const ReplayOptions& options,
                          AllocationStream& stream, trace::WalkerHooks* also = nullptr);

// How many walks replay_trace makes of a trace it can open twice.
enum class Walks {
    One,
    // The recording's figures (statistics, resumption, `stream`, `also`) on
    // this thread, the models' (runs, time series, cycles) over a second
    // opening on another: less wall time for the CPU time of one more
    // decode and walk. The figures are one walk's.
    TwoBesideEachOther,
};
// Two where there are two cores or more, else one.
Walks walks_for_this_machine();
// Work on what the recording's walk kept (`stream`, `also`), given the
// number of connections: run as soon as that walk ended, beside the models'
// walk when there are two.
using AfterRecordingWalk = std::function<void(std::uint32_t connections)>;
// The same over `open`'s trace. Throws what the one-walk replay throws (the
// error the one walk would have met first), and only then what `after`
// threw.
ReplayResult replay_trace(const SourceFactory& open, const ReplayOptions& options,
                          AllocationStream& stream, trace::WalkerHooks* also, Walks walks,
                          const AfterRecordingWalk& after = {});

} // namespace tlsheap::replay
