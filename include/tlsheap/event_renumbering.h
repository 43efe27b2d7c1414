// A stream that leaves out or adds allocation events must number its events
// 1, 2, 3, ... again, and every Free and Role record must name its allocation
// by the new number, as the replay engine expects. One instance per stream,
// applied to every record as it leaves, in order.
#pragma once

#include "tlsheap/trace_reader.h"

#include <cstdint>
#include <unordered_map>

namespace tlsheap::replay {

class EventRenumbering {
  public:
    // `r.seq` of an Alloc is the key its Free and Role records name it by
    // (the input seq, or a key of the stream's own for an added allocation).
    void apply(trace::Record& r) {
        switch (r.tag) {
        case trace::Tag::Alloc:
            if (r.address != 0) {
                seq_of_[r.seq] = seq_ + 1;
            }
            r.seq = ++seq_;
            break;
        case trace::Tag::Free: {
            r.seq = ++seq_;
            const auto it = seq_of_.find(r.alloc_seq);
            if (r.alloc_seq != 0 && it != seq_of_.end()) {
                r.alloc_seq = it->second;
                seq_of_.erase(it);
            } else {
                r.alloc_seq = 0;
            }
            break;
        }
        case trace::Tag::Role:
            if (const auto it = seq_of_.find(r.role_seq); it != seq_of_.end()) {
                r.role_seq = it->second;
            }
            break;
        case trace::Tag::End:
            r.end_event_count = seq_;
            r.end_crc = 0; // the stream has no file bytes to check
            break;
        default:
            break;
        }
    }

  private:
    std::uint64_t seq_ = 0;
    std::unordered_map<std::uint64_t, std::uint64_t> seq_of_; // key -> output seq
};

} // namespace tlsheap::replay
