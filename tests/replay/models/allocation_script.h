// Test helper: pseudo-random allocate/release scripts shaped like a TLS
// handshake's (many small blocks, some kilobytes, a few record-sized), and a
// runner that plays one against any allocator and records what it returned.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace tlsheap::replay::testing {

struct ScriptEvent {
    bool allocate;      // else release
    std::uint32_t id;   // names the allocation a release returns
    std::uint64_t size; // for allocations
};

inline std::vector<ScriptEvent> random_script(std::uint64_t seed, unsigned events,
                                              std::uint64_t largest = 17000) {
    std::mt19937_64 random(seed);
    std::vector<ScriptEvent> script;
    std::vector<std::uint32_t> live;
    std::uint32_t next_id = 0;
    for (unsigned i = 0; i < events; ++i) {
        const double p_allocate = live.empty()       ? 1.0
                                  : live.size() < 8  ? 0.7
                                  : live.size() > 60 ? 0.35
                                                     : 0.55;
        if (std::uniform_real_distribution<double>(0, 1)(random) < p_allocate) {
            const unsigned kind = std::uniform_int_distribution<unsigned>(0, 99)(random);
            std::uint64_t low = 1, high = 64;
            if (kind >= 97)
                low = 4097, high = largest;
            else if (kind >= 85)
                low = 1025, high = 4096;
            else if (kind >= 60)
                low = 65, high = 1024;
            const std::uint64_t size =
                std::uniform_int_distribution<std::uint64_t>(low, std::max(low, high))(random);
            script.push_back({true, next_id, size});
            live.push_back(next_id++);
        } else {
            const std::size_t pick =
                std::uniform_int_distribution<std::size_t>(0, live.size() - 1)(random);
            script.push_back({false, live[pick], 0});
            live[pick] = live.back();
            live.pop_back();
        }
    }
    return script;
}

// Plays `script`: allocate(size) -> optional offset, release(offset). A
// release of an allocation that failed is skipped, as the replay engine does.
// Returns each allocation's result in script order; `after_event` runs after
// every allocate or release that reached the allocator.
template <class Allocate, class Release, class AfterEvent>
std::vector<std::optional<std::uint64_t>> play(const std::vector<ScriptEvent>& script,
                                               Allocate allocate, Release release,
                                               AfterEvent after_event) {
    std::vector<std::optional<std::uint64_t>> by_id;
    std::vector<std::optional<std::uint64_t>> results;
    for (const ScriptEvent& event : script) {
        if (event.allocate) {
            const std::optional<std::uint64_t> offset = allocate(event.size);
            if (by_id.size() <= event.id)
                by_id.resize(event.id + 1);
            by_id[event.id] = offset;
            results.push_back(offset);
        } else {
            if (!by_id[event.id])
                continue;
            release(*by_id[event.id]);
        }
        after_event();
    }
    return results;
}

} // namespace tlsheap::replay::testing
