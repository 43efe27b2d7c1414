#include "tlsheap/trace_walker.h"

#include "address_map.h"
#include "live_block_table.h"

#include <algorithm>

namespace tlsheap::trace {

// Live blocks in a slab that never moves, found through a compact hash table
// from allocation seq to slab index: no node allocation per event, memory
// proportional to the blocks alive, never to the length of the trace.
class TraceWalker::LiveSet {
  public:
    std::uint32_t add(const LiveAllocation& block) {
        std::uint32_t slot;
        if (!unused_.empty()) {
            slot = unused_.back();
            unused_.pop_back();
            blocks_[slot] = block;
        } else {
            slot = static_cast<std::uint32_t>(blocks_.size());
            blocks_.push_back(block);
        }
        index_.insert(block.seq) = slot;
        return slot;
    }
    // Removes a live seq; false if it is not live. Its slab entry stays
    // readable until the next add().
    bool take(std::uint64_t seq, std::uint32_t& slot) {
        if (!index_.erase(seq, &slot)) {
            return false;
        }
        unused_.push_back(slot);
        return true;
    }
    const LiveAllocation* find(std::uint64_t seq) const {
        const std::uint32_t* slot = index_.find(seq);
        return slot == nullptr ? nullptr : &blocks_[*slot];
    }
    const LiveAllocation& at(std::uint32_t slot) const { return blocks_[slot]; }
    std::size_t count() const { return blocks_.size() - unused_.size(); }
    std::uint32_t capacity() const { return static_cast<std::uint32_t>(blocks_.size()); }
    std::uint32_t slot_of(const LiveAllocation& block) const {
        return static_cast<std::uint32_t>(&block - blocks_.data());
    }
    template <typename F>
    void for_each(F f) const {
        index_.for_each([&](std::uint64_t, std::uint32_t slot) { f(blocks_[slot]); });
    }

    // Addresses of blocks freed so far, only to tell a double free from a
    // free of a stranger; addresses are reused, so this follows the heap.
    AddressMap freed;

  private:
    LiveBlockTable<std::uint32_t> index_;
    std::vector<LiveAllocation> blocks_;
    std::vector<std::uint32_t> unused_;
};

TraceWalker::TraceWalker() : live_(std::make_unique<LiveSet>()) {}
TraceWalker::~TraceWalker() = default;

void TraceWalker::feed(const Record& r, WalkerHooks* hooks) {
    switch (r.tag) {
    case Tag::Alloc:
        on_alloc(r, hooks);
        return;
    case Tag::Free:
        on_free(r, hooks);
        return;
    case Tag::Connection: {
        connection_records_ = true;
        const std::uint32_t previous = connection_;
        if (switch_connection(r.connection)) {
            if (hooks != nullptr) {
                hooks->on_connection(r, previous);
            }
            return;
        }
        break;
    }
    case Tag::Phase: {
        const Phase previous = timeline_phase_;
        phase_ = r.phase;
        timeline_phase_ = r.phase;
        if (phase_ == Phase::Setup) {
            state_ = 0;
        }
        if (hooks != nullptr) {
            hooks->on_phase(r, previous);
        }
        return;
    }
    case Tag::StepBegin:
    case Tag::StepEnd:
        state_ = r.state;
        stepped_ = true;
        break;
    case Tag::Activity:
        if (!connection_records_ && r.begin && connection_ == kSharedConnection &&
            r.key == kActivitySslSetup) {
            // Format 1.0: the one connection begins here, in the phase and
            // state the shared part left.
            const Phase phase = phase_;
            const std::uint32_t state = state_;
            switch_connection(kFirstConnection);
            phase_ = phase;
            state_ = state;
        }
        on_activity(r);
        break;
    case Tag::Role:
        role_of_seq_[r.role_seq] = r.role;
        current_buffer_[static_cast<unsigned>(r.role)] = r.role_seq;
        context_of(connection_).current_buffer[static_cast<unsigned>(r.role)] = r.role_seq;
        break;
    case Tag::TlsRecord:
        ++tls_records_;
        ++context_of(connection_).tls_records;
        break;
    case Tag::Outcome:
        if (r.outcome == OutcomeKind::Resumed) {
            context_of(connection_).handshake = HandshakeKind::Resumed;
        } else if (r.outcome == OutcomeKind::NotResumed) {
            context_of(connection_).handshake = HandshakeKind::NotResumed;
        } else if (r.outcome == OutcomeKind::EarlyData) {
            context_of(connection_).early_data = static_cast<EarlyDataStatus>(r.ret);
        }
        break;
    default:
        if (info_.absorb(r)) {
            if (hooks != nullptr) {
                hooks->on_description(r);
            }
            return;
        }
        break;
    }
    if (hooks != nullptr) {
        hooks->on_context(r);
    }
}

void TraceWalker::on_alloc(const Record& r, WalkerHooks* hooks) {
    ++events_;
    if (r.address == 0) {
        if (hooks != nullptr) {
            hooks->on_alloc(r, nullptr, 0);
        }
        return;
    }
    LiveAllocation block;
    block.seq = r.seq;
    block.address = r.address;
    block.size = r.bytes_asked();
    block.time_ns = r.time_ns;
    block.stack = r.stack;
    block.state = state_;
    block.activity = open_activities_.empty() ? 0 : open_activities_.back();
    block.connection = connection_;
    block.phase = phase_;
    const std::uint32_t slot = live_->add(block);
    live_bytes_ += block.size;
    context_of(connection_).live_bytes += block.size;
    if (hooks != nullptr) {
        hooks->on_alloc(r, &live_->at(slot), slot);
    }
}

void TraceWalker::on_free(const Record& r, WalkerHooks* hooks) {
    ++events_;
    FreeKind kind = FreeKind::Null;
    const LiveAllocation* block = nullptr;
    std::uint32_t slot = 0;
    if (r.address != 0) {
        if (r.alloc_seq != 0 && live_->take(r.alloc_seq, slot)) {
            kind = FreeKind::Known;
            block = &live_->at(slot);
            live_bytes_ -= block->size;
            context_of(block->connection).live_bytes -= block->size;
            if (keep_freed_) {
                live_->freed.insert_or_assign(r.address, r.seq);
            }
        } else {
            const bool twice =
                (keep_freed_ && live_->freed.find(r.address) != nullptr) || r.alloc_seq != 0;
            kind = twice ? FreeKind::DoubleFree : FreeKind::Unknown;
        }
    }
    if (hooks != nullptr) {
        hooks->on_free(r, kind, block, slot);
    }
}

TraceWalker::ConnectionContext& TraceWalker::context_of(std::uint32_t connection) {
    if (connection >= connections_.size()) {
        connections_.resize(connection + 1);
    }
    return connections_[connection];
}

bool TraceWalker::switch_connection(std::uint32_t connection) {
    if (connection == connection_) {
        return false;
    }
    ConnectionContext& old = context_of(connection_);
    old.phase = phase_;
    old.state = state_;
    const ConnectionContext& now = context_of(connection);
    phase_ = now.phase;
    state_ = now.state;
    connection_ = connection;
    return true;
}

Phase TraceWalker::phase_of(std::uint32_t connection) const {
    if (connection == connection_) {
        return phase_;
    }
    return connection < connections_.size() ? connections_[connection].phase : Phase::Setup;
}

std::uint32_t TraceWalker::state_of(std::uint32_t connection) const {
    if (connection == connection_) {
        return state_;
    }
    return connection < connections_.size() ? connections_[connection].state : 0;
}

void TraceWalker::on_activity(const Record& r) {
    if (r.begin) {
        auto [it, added] = activity_ids_.try_emplace(
            r.key, static_cast<std::uint32_t>(activity_names_.size() + 1));
        if (added) {
            activity_names_.push_back(r.key);
        }
        open_activities_.push_back(it->second);
        return;
    }
    // Ends the innermost open activity of that name (activities nest, but a
    // trace from elsewhere may not say so).
    const auto id = activity_ids_.find(r.key);
    if (id == activity_ids_.end()) {
        return;
    }
    const auto open = std::find(open_activities_.rbegin(), open_activities_.rend(), id->second);
    if (open != open_activities_.rend()) {
        open_activities_.erase(std::next(open).base());
    }
}

const std::string& TraceWalker::activity_name(std::uint32_t id) const {
    static const std::string none;
    return id == 0 || id > activity_names_.size() ? none : activity_names_[id - 1];
}

const std::string& TraceWalker::activity() const {
    return activity_name(open_activities_.empty() ? 0 : open_activities_.back());
}

const LiveAllocation* TraceWalker::live(std::uint64_t seq) const {
    return live_->find(seq);
}

std::size_t TraceWalker::live_count() const {
    return live_->count();
}

std::uint32_t TraceWalker::slot_capacity() const {
    return live_->capacity();
}

std::uint32_t TraceWalker::slot_of(const LiveAllocation& block) const {
    return live_->slot_of(block);
}

std::vector<const LiveAllocation*> TraceWalker::live_in_seq_order() const {
    std::vector<const LiveAllocation*> blocks;
    blocks.reserve(live_->count());
    live_->for_each([&](const LiveAllocation& b) { blocks.push_back(&b); });
    std::sort(blocks.begin(), blocks.end(),
              [](const LiveAllocation* a, const LiveAllocation* b) { return a->seq < b->seq; });
    return blocks;
}

std::optional<Role> TraceWalker::role_of(std::uint64_t seq) const {
    const auto it = role_of_seq_.find(seq);
    return it == role_of_seq_.end() ? std::nullopt : std::optional<Role>(it->second);
}

} // namespace tlsheap::trace
