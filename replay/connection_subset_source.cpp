#include "tlsheap/connection_subset.h"

namespace tlsheap::replay {

namespace {

using trace::Record;
using trace::Tag;

// Which connection an allocation event belongs to, from the walker's hooks.
class EventOwner final : public trace::WalkerHooks {
  public:
    explicit EventOwner(const trace::TraceWalker& walker) : walker_(walker) {}
    void on_alloc(const Record&, const trace::LiveAllocation*, std::uint32_t) override {
        owner = walker_.connection();
    }
    void on_free(const Record&, trace::FreeKind kind, const trace::LiveAllocation* block,
                 std::uint32_t) override {
        owner = kind == trace::FreeKind::Known ? block->connection : walker_.connection();
    }
    std::uint32_t owner = trace::kSharedConnection;

  private:
    const trace::TraceWalker& walker_;
};

} // namespace

ConnectionSubsetSource::ConnectionSubsetSource(std::unique_ptr<RecordSource> input,
                                               std::uint32_t last_connection)
    : input_(std::move(input)), last_connection_(last_connection) {}

bool ConnectionSubsetSource::next(Record& out) {
    while (input_->next(out)) {
        if (keep(out)) {
            renumbering_.apply(out);
            return true;
        }
    }
    return false;
}

bool ConnectionSubsetSource::keep(const Record& r) {
    if (trace::TraceInfo::describes(r.tag)) {
        walker_.feed(r);
        return true;
    }
    switch (r.tag) {
    case Tag::Alloc:
    case Tag::Free: {
        EventOwner owner(walker_);
        walker_.feed(r, &owner);
        return owner.owner <= last_connection_;
    }
    case Tag::Connection:
        walker_.feed(r);
        return r.connection <= last_connection_;
    case Tag::End:
        walker_.feed(r);
        return true;
    default:
        walker_.feed(r);
        return walker_.connection() <= last_connection_;
    }
}

} // namespace tlsheap::replay
