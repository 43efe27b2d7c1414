// Test and benchmark helper: a script that holds many blocks alive at once,
// the shape that makes per-operation work linear in the live blocks show:
// allocate `live` blocks of varied sizes, free every other one, allocate as
// many again (they land in the holes or past them), then free everything.
#pragma once

#include "allocation_script.h"

#include <cstdint>
#include <random>
#include <vector>

namespace tlsheap::replay::testing {

// Sizes up to `largest` bytes, seven in ten small (up to about a seventh of
// it): handshake-like sizes by default, that leave holes of many different
// sizes. A smaller `largest` fits more live blocks in a small heap.
inline std::vector<ScriptEvent> live_blocks_script(unsigned live, std::uint64_t largest = 700,
                                                   std::uint64_t seed = 1) {
    std::mt19937_64 random(seed);
    const std::uint64_t small = largest * 96 / 700;
    const auto size = [&] {
        const unsigned kind = std::uniform_int_distribution<unsigned>(0, 9)(random);
        return kind < 7 ? std::uniform_int_distribution<std::uint64_t>(1, small)(random)
                        : std::uniform_int_distribution<std::uint64_t>(small + 1, largest)(random);
    };
    std::vector<ScriptEvent> script;
    std::uint32_t next_id = 0;
    for (unsigned i = 0; i < live; ++i)
        script.push_back({true, next_id++, size()});
    for (std::uint32_t id = 0; id < live; id += 2)
        script.push_back({false, id, 0});
    const std::uint32_t second = next_id;
    for (unsigned i = 0; i < live / 2; ++i)
        script.push_back({true, next_id++, size()});
    for (std::uint32_t id = 1; id < live; id += 2)
        script.push_back({false, id, 0});
    for (std::uint32_t id = second; id < next_id; ++id)
        script.push_back({false, id, 0});
    return script;
}

} // namespace tlsheap::replay::testing
