// A lifecycle recording restricted to its shared part and its first k
// connections: the stream the heap would have seen had only connections
// 1..k been opened. Connection costs (the marginal cost of one more
// connection) and `tlsheap capacity TRACE` replay these streams instead of
// dividing a peak by a count.
#pragma once

#include "tlsheap/event_renumbering.h"
#include "tlsheap/record_source.h"
#include "tlsheap/trace_walker.h"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace tlsheap::replay {

// Yields every descriptive record of `input`, and every other record whose
// connection is at most `last_connection`: an Alloc by the connection that
// made it, a Free by the connection of the block it ends (a Free of nothing
// known by the connection that ran it), a Connection record by the
// connection it names, the rest by the connection whose code was running.
// Alloc/Free records are renumbered 1, 2, 3, ... and Free and Role records
// name their allocation by the new numbers, as the replay engine expects.
class ConnectionSubsetSource final : public RecordSource {
  public:
    ConnectionSubsetSource(std::unique_ptr<RecordSource> input, std::uint32_t last_connection);

    bool next(trace::Record& out) override;
    bool complete() const override { return input_->complete(); }
    bool truncated() const override { return input_->truncated(); }
    std::string truncation_message() const override { return input_->truncation_message(); }

  private:
    bool keep(const trace::Record& r);

    std::unique_ptr<RecordSource> input_;
    std::uint32_t last_connection_;
    trace::TraceWalker walker_;
    EventRenumbering renumbering_;
};

} // namespace tlsheap::replay
