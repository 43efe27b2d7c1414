// What every buffer-scheme transform shares: a RecordSource that reads the
// recording through the trace walker (metadata, config, state names, call
// stacks, the allocations still alive and what they are), and yields a rewritten stream in which
// the record buffers named by Role records are replaced by the scheme's own allocations.
//
// Output events are renumbered 1, 2, 3, ... as they leave; every Free names
// its allocation by the new numbers. An allocation the transform adds gets a
// synthetic Stack id whose one Frame names it ("esp-dynamic: RX buffer"), so
// reports show it as a call site. Memory is proportional to what is alive and
// to the lookahead the transform keeps, never to the length of the trace.
#pragma once

#include "tlsheap/record_source.h"
#include "tlsheap/trace_format.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/trace_walker.h"
#include "tlsheap/transform.h"

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace tlsheap::replay {

// An allocation of the recording that is still alive in it, with the context
// it was made in.
using InputBlock = trace::LiveAllocation;

// An allocation the transform added.
struct AddedBlock {
    std::uint64_t key = 0;
    std::uint64_t address = 0;
    std::uint64_t size = 0;
    explicit operator bool() const { return key != 0; }
};

// A synthetic event waiting in an output queue.
struct AddedEvent {
    bool alloc = true;
    std::uint64_t key = 0; // an AddedBlock key, or the seq of an input allocation
    std::uint64_t size = 0;
    std::uint64_t address = 0;
    std::uint32_t stack = 0;
};

// A place kept in the output for entries a transform passes on later (see
// reserve_output): the output stops here until the place is released.
struct ReservedPlace {
    std::uint64_t id = 0;
};

using OutputEntry = std::variant<trace::Record, AddedEvent, ReservedPlace>;

class RewrittenStream : public RecordSource {
  public:
    // `spec_text` is the Meta "transform" value; `name` the transform's name
    // for messages and synthetic call sites.
    RewrittenStream(std::unique_ptr<RecordSource> input, std::string name, std::string spec_text);

    bool next(trace::Record& out) final;
    bool complete() const final { return input_->complete(); }
    bool truncated() const final { return input_->truncated(); }
    std::string truncation_message() const final { return input_->truncation_message(); }

  protected:
    // --- what a transform implements -------------------------------------

    // Before the first record that is not descriptive: metadata and config are
    // known. Refuse here (throw TransformError) and register call sites.
    virtual void initialize() = 0;
    // Every record after initialization, in input order, except the ones
    // inside the ssl_setup activity (buffered here until the Role records
    // have said which allocations are the record buffers). The transform
    // passes each on with emit_input(), now or later.
    virtual void handle(const trace::Record& r) = 0;
    // Every record as it is read, after the tracking below is updated.
    virtual void observe(const trace::Record& /*r*/) {}
    // The input ended: flush everything held back.
    virtual void finish() = 0;
    // The record buffer `role` was not allocated; called where it was.
    virtual void replace_record_buffer(trace::Role role, const InputBlock& block) = 0;
    // mbedtls_ssl_free is freeing the record buffers: free the scheme's own.
    virtual void release_record_buffers() = 0;
    // Why the transform does not apply to DTLS recordings: one clause after
    // "it is a DTLS recording (...), ".
    virtual std::string dtls_refusal() const = 0;

    // --- output ----------------------------------------------------------

    // Passes an input record on, applying the shared rules: a record buffer's
    // allocation is replaced, the free of a block already released is
    // dropped, and the first free of the current record buffers releases the
    // scheme's buffers.
    void emit_input(const trace::Record& r);
    AddedBlock add_block(std::uint64_t size, std::uint32_t stack);
    void free_block(AddedBlock& block, std::uint32_t stack);
    // Frees an input allocation now; its recorded free is dropped later.
    void release_input_block(std::uint64_t seq, std::uint32_t stack);
    // Leaves the input allocation being handled out of the output (the
    // scheme never makes it); its recorded free is dropped later.
    void drop_input_block(std::uint64_t seq);
    // While capturing, added events go to `sink` instead of the output, to be
    // placed later with emit_captured().
    void begin_capture(std::vector<AddedEvent>& sink) { capture_ = &sink; }
    void end_capture() { capture_ = nullptr; }
    void emit_captured(const std::vector<AddedEvent>& events);

    // Several connections interleave in one recording, and a transform that
    // holds one connection's records back (a step kept for lookahead) must
    // not move them past the other connections' records that follow: it
    // reserves their place in the output, fills it later, and releases it.
    // Between begin_fill and end_fill, everything passed on goes to the place.
    std::uint64_t reserve_output();
    void begin_fill(std::uint64_t place) { filling_ = place; }
    void end_fill() { filling_.reset(); }
    void release_place(std::uint64_t place);

    // A call site for added allocations; only from initialize().
    std::uint32_t call_site(const std::string& what);
    [[noreturn]] void refuse(const std::string& why) const;
    // Refuses a DTLS recording; `evidence` says how it is known to be one.
    [[noreturn]] void refuse_dtls(const std::string& evidence) const;

    // --- what the recording says -------------------------------------------

    const std::string& meta(const std::string& key) const { return walker_.info().meta(key); }
    const std::map<std::string, std::string>& meta_map() const { return walker_.info().meta_map(); }
    const std::map<std::string, std::string>& config() const {
        return walker_.info().config_macros();
    }
    std::string state_name(std::uint32_t state) const { return walker_.info().state_name(state); }
    const trace::TraceInfo& symbols() const { return walker_.info(); }
    // Input allocations alive at the point read so far and not released by
    // the transform, oldest first.
    std::vector<const InputBlock*> live() const;
    const InputBlock* live_block(std::uint64_t seq) const;
    // The innermost Activity open when the block was made ("" if none).
    const std::string& activity_of(const InputBlock& block) const {
        return walker_.activity_name(block.activity);
    }
    trace::Phase phase() const { return walker_.phase(); }
    // The connection the record being read belongs to (trace_walker.h).
    std::uint32_t connection() const { return walker_.connection(); }
    std::uint32_t state() const { return walker_.state(); }
    const std::string& name() const { return name_; }

  private:
    void on_record(const trace::Record& r);
    void track(const trace::Record& r);
    bool emitted(std::uint64_t seq) const { return emitted_.count(seq) != 0; }
    void check_roles() const;
    void check_tls_records() const;
    void start_output();
    void end_of_input();
    void queue(OutputEntry entry);
    void place_entry(OutputEntry entry);
    bool splice_front_place();

    std::unique_ptr<RecordSource> input_;
    std::string name_;
    std::string spec_text_;
    trace::Record in_;
    bool input_done_ = false;
    bool initialized_ = false;
    bool ended_ = false;

    // The recording as read: its description and context.
    trace::TraceWalker walker_;
    // Live input allocations passed to the output as they were recorded.
    std::unordered_set<std::uint64_t> emitted_;

    // The ssl_setup activity, held back until its Role records are read.
    bool holding_setup_ = false;
    std::vector<trace::Record> setup_;

    // Output side.
    std::deque<OutputEntry> out_;
    std::vector<AddedEvent>* capture_ = nullptr;
    std::unordered_set<std::uint64_t> released_; // input seqs freed or left out early
    // Connections whose record buffers mbedtls_ssl_free released.
    std::unordered_set<std::uint32_t> buffers_released_;
    struct Place {
        std::deque<OutputEntry> entries;
        bool released = false;
    };
    std::unordered_map<std::uint64_t, Place> places_;
    std::optional<std::uint64_t> filling_;
    std::uint64_t next_place_ = 1;
    std::uint64_t next_key_ = 1;
    std::vector<std::uint64_t> free_slots_;
    std::uint64_t next_slot_ = 0;
    std::vector<std::string> call_sites_;

    // Renumbering as events leave.
    std::uint64_t out_seq_ = 0;
    std::uint64_t last_time_ns_ = 0;
    std::unordered_map<std::uint64_t, std::uint64_t> out_seq_of_;
};

} // namespace tlsheap::replay
