#include "call_stack_symbols.h"

namespace tlsheap::replay {

void CallStackSymbols::absorb(const trace::Record& r) {
    if (r.tag == trace::Tag::Stack)
        stacks_[r.stack] = r.frames;
    else if (r.tag == trace::Tag::Frame)
        frames_[r.address] = r.levels;
}

std::string CallStackSymbols::call_site(std::uint32_t stack) const {
    const auto s = stacks_.find(stack);
    if (s == stacks_.end())
        return "";
    for (const std::uint64_t address : s->second) {
        const auto f = frames_.find(address);
        if (f == frames_.end())
            continue;
        for (const trace::SourceLevel& level : f->second)
            if (level.in_mbedtls && level.function != "mbedtls_calloc" &&
                level.function != "mbedtls_free")
                return level.function;
    }
    return "";
}

} // namespace tlsheap::replay
