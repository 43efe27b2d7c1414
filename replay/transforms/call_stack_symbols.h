// The call stacks (Stack records) and their symbolization (Frame records) a
// trace carries, kept while it streams by so that a transform can tell what
// an allocation is by the functions on its stack: the peer's certificate
// chain, an own key, a key_cert list node. Small: proportional to distinct
// stacks, not to events. (TraceInfo does the same for the replay engine; the
// transforms keep their own copy so that they do not depend on the engine.)
#pragma once

#include "tlsheap/trace_reader.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tlsheap::replay {

class CallStackSymbols {
  public:
    // Takes Stack and Frame records; ignores every other record.
    void absorb(const trace::Record& r);

    // True once any Frame record was seen (the trace was finalized).
    bool symbolized() const { return !frames_.empty(); }

    // The innermost mbedTLS function that asked for memory (the platform
    // layer's mbedtls_calloc skipped, as TraceInfo::call_site does); "" when
    // the stack is unknown or unsymbolized.
    std::string call_site(std::uint32_t stack) const;

    // True if any level of any frame of the stack is a function for which
    // `match(function)` holds.
    template <typename Match>
    bool any_function(std::uint32_t stack, Match match) const {
        const auto s = stacks_.find(stack);
        if (s == stacks_.end())
            return false;
        for (const std::uint64_t address : s->second) {
            const auto f = frames_.find(address);
            if (f == frames_.end())
                continue;
            for (const trace::SourceLevel& level : f->second)
                if (match(std::string_view(level.function)))
                    return true;
        }
        return false;
    }

  private:
    std::unordered_map<std::uint32_t, std::vector<std::uint64_t>> stacks_;
    std::unordered_map<std::uint64_t, std::vector<trace::SourceLevel>> frames_;
};

} // namespace tlsheap::replay
