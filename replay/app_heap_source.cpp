// Inserts the application's blocks of an AppHeapSpec into a recorded stream
// (app_heap.h says where). Events are renumbered 1, 2, 3, ... as they leave,
// and Free and Role records name their allocation by the new numbers.
#include "tlsheap/app_heap.h"
#include "tlsheap/event_renumbering.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_walker.h"

#include <algorithm>
#include <deque>
#include <unordered_map>

namespace tlsheap::replay {

namespace {

using trace::Record;
using trace::Tag;

// Call sites and addresses apart from the recorder's and from those the
// buffer-scheme transforms add (rewritten_stream.cpp), so that an app heap
// over a transform keeps both apart.
constexpr std::uint32_t kHoldStack = 0xfffe0000u;
constexpr std::uint32_t kBetweenStack = 0xfffe0001u;
constexpr std::uint64_t kFrameBase = 0xfffffffffffe0000ull;
constexpr std::uint64_t kAddressBase = 0xffff400000000000ull;
constexpr std::uint64_t kAddressStride = 1ull << 32; // a block of up to kMaxAppBlock fits
// Keys of added allocations, apart from the input seqs EventRenumbering keys by.
constexpr std::uint64_t kAddedKey = 1ull << 63;

struct AddedBlock {
    std::uint64_t key = 0;
    std::uint64_t address = 0;
};

class AppHeapSource final : public RecordSource {
  public:
    AppHeapSource(AppHeapSpec spec, std::unique_ptr<RecordSource> input)
        : spec_(std::move(spec)), input_(std::move(input)) {}

    bool next(Record& out) override {
        while (out_.empty()) {
            if (done_) {
                return false;
            }
            Record r;
            if (!input_->next(r)) {
                done_ = true;
                if (started_) {
                    release_all();
                }
                continue;
            }
            on_record(std::move(r));
        }
        out = std::move(out_.front());
        out_.pop_front();
        renumbering_.apply(out);
        return true;
    }
    bool complete() const override { return input_->complete(); }
    bool truncated() const override { return input_->truncated(); }
    std::string truncation_message() const override { return input_->truncation_message(); }

  private:
    void on_record(Record r) {
        if (r.tag == Tag::Alloc || r.tag == Tag::Free) {
            time_ns_ = std::max(time_ns_, r.time_ns);
        }
        if (!started_ && !trace::TraceInfo::describes(r.tag) && r.tag != Tag::End) {
            start();
        }
        if (r.tag == Tag::End) {
            release_all();
        } else if (!trace::TraceInfo::describes(r.tag)) {
            if (!held_ && begins_first_connection(r)) {
                held_ = true;
                as_shared([&] {
                    for (const std::uint64_t size : spec_.hold) {
                        hold_blocks_.push_back(allocate(size, kHoldStack));
                    }
                });
            } else if (begins_cycle(r)) {
                std::vector<AddedBlock> previous;
                previous.swap(between_blocks_);
                as_shared([&] {
                    for (const std::uint64_t size : spec_.between) {
                        between_blocks_.push_back(allocate(size, kBetweenStack));
                    }
                    for (const AddedBlock& b : previous) {
                        release(b, kBetweenStack);
                    }
                });
            }
        }
        walker_.feed(r);
        out_.push_back(std::move(r));
    }

    // Before the first event: the spec as Meta, the two call sites.
    void start() {
        started_ = true;
        Record meta;
        meta.tag = Tag::Meta;
        meta.key = trace::meta::kAppHeap;
        meta.value = spec_.text();
        out_.push_back(meta);
        const std::pair<std::uint32_t, const char*> sites[] = {
            {kHoldStack, "application: hold"}, {kBetweenStack, "application: between"}};
        for (std::size_t i = 0; i < 2; ++i) {
            const std::uint64_t address = kFrameBase + 16 * i;
            Record stack;
            stack.tag = Tag::Stack;
            stack.stack = sites[i].first;
            stack.frames = {address};
            out_.push_back(stack);
            Record frame;
            frame.tag = Tag::Frame;
            frame.address = address;
            trace::SourceLevel level;
            level.function = sites[i].second;
            // Call sites are the innermost library frame; this one stands for it.
            level.in_mbedtls = true;
            frame.levels = {level};
            out_.push_back(frame);
        }
    }

    // The record that makes a connection other than the shared part run
    // for the first time: a Connection record (format 1.1), or in a 1.0
    // trace the ssl_setup activity that begins its one connection.
    bool begins_first_connection(const Record& r) const {
        if (r.tag == Tag::Connection) {
            return r.connection != trace::kSharedConnection;
        }
        return !walker_.connection_records() && r.tag == Tag::Activity && r.begin &&
               r.key == trace::kActivitySslSetup &&
               walker_.connection() == trace::kSharedConnection;
    }

    // A Connection record naming a connection never seen, when every
    // connection before it was torn down and freed: a new reconnect cycle.
    bool begins_cycle(const Record& r) const {
        if (r.tag != Tag::Connection || r.connection < walker_.connection_count() ||
            walker_.connection_count() <= trace::kFirstConnection) {
            return false;
        }
        for (std::uint32_t c = trace::kFirstConnection; c < walker_.connection_count(); ++c) {
            if (walker_.phase_of(c) != trace::Phase::Teardown || walker_.live_bytes_of(c) != 0) {
                return false;
            }
        }
        return true;
    }

    // Runs `emit` with connection 0 current, so that what it adds is the
    // shared part's.
    template <typename Emit>
    void as_shared(Emit emit) {
        const std::uint32_t current = walker_.connection();
        if (current == trace::kSharedConnection || !walker_.connection_records()) {
            emit();
            return;
        }
        Record to_shared;
        to_shared.tag = Tag::Connection;
        to_shared.connection = trace::kSharedConnection;
        walker_.feed(to_shared);
        out_.push_back(to_shared);
        emit();
        Record back;
        back.tag = Tag::Connection;
        back.connection = current;
        walker_.feed(back);
        out_.push_back(back);
    }

    AddedBlock allocate(std::uint64_t size, std::uint32_t stack) {
        AddedBlock b{kAddedKey | next_key_, kAddressBase + kAddressStride * next_key_};
        ++next_key_;
        Record r;
        r.tag = Tag::Alloc;
        r.seq = b.key;
        r.time_ns = time_ns_;
        r.count = 1;
        r.size = size;
        r.address = b.address;
        r.stack = stack;
        walker_.feed(r);
        out_.push_back(r);
        return b;
    }

    void release(const AddedBlock& b, std::uint32_t stack) {
        Record r;
        r.tag = Tag::Free;
        r.time_ns = time_ns_;
        r.address = b.address;
        r.alloc_seq = b.key;
        r.stack = stack;
        walker_.feed(r);
        out_.push_back(r);
    }

    // The end of the recording: the application lets go of what it holds.
    void release_all() {
        if (released_) {
            return;
        }
        released_ = true;
        as_shared([&] {
            for (const AddedBlock& b : between_blocks_) {
                release(b, kBetweenStack);
            }
            for (const AddedBlock& b : hold_blocks_) {
                release(b, kHoldStack);
            }
        });
        between_blocks_.clear();
        hold_blocks_.clear();
    }

    AppHeapSpec spec_;
    std::unique_ptr<RecordSource> input_;
    // The input's context, with the added events fed in order.
    trace::TraceWalker walker_;
    std::deque<Record> out_;
    bool started_ = false;
    bool held_ = false;
    bool done_ = false;
    bool released_ = false;
    std::vector<AddedBlock> hold_blocks_;
    std::vector<AddedBlock> between_blocks_;
    std::uint64_t next_key_ = 1;
    std::uint64_t time_ns_ = 0;
    EventRenumbering renumbering_;
};

} // namespace

std::unique_ptr<RecordSource> make_app_heap_source(const AppHeapSpec& spec,
                                                   std::unique_ptr<RecordSource> input) {
    return std::make_unique<AppHeapSource>(spec, std::move(input));
}

} // namespace tlsheap::replay
