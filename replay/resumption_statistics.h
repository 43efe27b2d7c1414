// Full vs resumed handshakes (issue 10): per connection, what its HANDSHAKE
// phase cost (peaks, allocations, steps, records received, certificate
// chain parsing) and which call sites the first full handshake used that no
// resumed one did. Fed by the replay engine as the walker goes, like
// RecordingStatistics; a trace with no Resumed/NotResumed outcome gives none.
#pragma once

#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_walker.h"

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tlsheap::replay {

class ResumptionStatistics {
  public:
    explicit ResumptionStatistics(const trace::TraceWalker& walker) : walker_(walker) {}

    // An allocation (null: the recorded allocator returned NULL).
    void on_alloc(const trace::LiveAllocation* block);
    // After a Phase record: a connection's handshake may begin.
    void on_phase();
    // StepBegin, TlsRecord, Outcome.
    void on_context(const trace::Record& r);
    // The comparison, or nothing when no connection resumed or offered to.
    std::optional<ResumptionFigures> finish();

  private:
    // A call site's allocations in one connection's handshake; its label is
    // named only for the report (a thousand reconnects share the strings).
    struct SiteTally {
        std::uint32_t stack = 0; // the first one seen
        std::uint64_t bytes = 0;
        std::uint64_t blocks = 0;
    };
    struct Connection {
        HandshakeFigures figures;
        bool seen = false;
        // By label id: as many entries as call sites the connection used
        // (a table by id would let a trace of many connections and many
        // call sites multiply the two).
        std::unordered_map<std::uint32_t, SiteTally> sites;
        bool used(std::uint32_t label) const { return sites.count(label) != 0; }
    };
    // What a stack id tells, worked out once per id: every allocation asks.
    struct StackFacts {
        std::uint32_t label = 0; // index in labels_: stacks of one call site share it
        bool parses_chain = false;
    };
    Connection& current();
    bool in_handshake() const;
    const StackFacts& facts_of(std::uint32_t stack);

    SiteTally& site_of(Connection& c, std::uint32_t connection, std::uint32_t label);

    const trace::TraceWalker& walker_;
    // A deque: growing it moves no connection, so the tallies that
    // recent_sites_ points to stay where they are.
    std::deque<Connection> connections_;
    std::unordered_map<std::uint32_t, StackFacts> stacks_;
    // The facts of stacks seen lately, by stack id modulo the table's size,
    // and each label's latest tally with its connection: a connection's
    // allocations mostly follow each other, so most find both here without
    // hashing (the two map lookups per allocation were a twentieth of the
    // recording's walk of a long trace). Map entries never move.
    std::array<std::pair<std::uint32_t, const StackFacts*>, 256> recent_stacks_{};
    struct RecentSite {
        std::uint32_t connection = 0;
        SiteTally* tally = nullptr; // null: none yet
    };
    std::vector<RecentSite> recent_sites_;                     // by label id
    std::unordered_map<std::string, std::uint32_t> label_ids_; // by CallSite::label()
    std::vector<const std::string*> labels_;                   // label_ids_'s keys, by label id
};

} // namespace tlsheap::replay
