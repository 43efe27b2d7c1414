#include "allocation_stream_validator.h"

#include <unordered_map>
#include <unordered_set>

namespace tlsheap::replay {

std::string validate_allocation_stream(RecordSource& source) {
    using trace::Tag;
    std::unordered_map<std::uint64_t, std::uint64_t> address_of; // live seq -> address
    std::unordered_map<std::uint64_t, std::uint64_t> seq_at;     // live address -> seq
    std::unordered_set<std::uint32_t> stacks;
    std::uint64_t expected = 1;
    trace::Record r;
    auto event = [&](const char* what) {
        return std::string(what) + " event " + std::to_string(r.seq) + ": ";
    };
    while (source.next(r)) {
        if (r.tag == Tag::Stack) {
            stacks.insert(r.stack);
            continue;
        }
        if (r.tag != Tag::Alloc && r.tag != Tag::Free)
            continue;
        const char* what = r.tag == Tag::Alloc ? "alloc" : "free";
        if (r.seq != expected)
            return event(what) + "expected sequence number " + std::to_string(expected);
        ++expected;
        if (r.stack != 0 && stacks.count(r.stack) == 0)
            return event(what) + "stack id " + std::to_string(r.stack) +
                   " has no Stack record before it";
        if (r.tag == Tag::Alloc) {
            if (r.address == 0)
                continue; // a failed allocation: nothing becomes live
            if (const auto it = seq_at.find(r.address); it != seq_at.end())
                return event(what) + "address " + std::to_string(r.address) +
                       " is still held by allocation " + std::to_string(it->second);
            address_of.emplace(r.seq, r.address);
            seq_at.emplace(r.address, r.seq);
            continue;
        }
        if (r.address == 0)
            continue; // free(NULL)
        const auto it = address_of.find(r.alloc_seq);
        if (r.alloc_seq == 0 || it == address_of.end())
            return event(what) + "frees event " + std::to_string(r.alloc_seq) +
                   ", which is not a live allocation (never made, failed or already freed)";
        if (it->second != r.address)
            return event(what) + "frees allocation " + std::to_string(r.alloc_seq) +
                   " at address " + std::to_string(r.address) + " but it is at " +
                   std::to_string(it->second);
        seq_at.erase(it->second);
        address_of.erase(it);
    }
    return "";
}

} // namespace tlsheap::replay
