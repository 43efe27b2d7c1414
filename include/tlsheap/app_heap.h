// `--app-heap SPEC`: the application shares the heap with mbedTLS. The spec
// names blocks the application allocates around the recorded connections;
// an AppHeapSource inserts them into the recorded stream, so that every
// model and report sees the heap the device would have
// (docs/scenarios.md, "The application's heap").
//
//   SPEC := part (';' part)*      part := ('hold' | 'between') '=' SIZE (',' SIZE)*
//
//   hold=8192,4096      blocks allocated just before the first connection
//                       begins (after the shared part's setup: config, CA
//                       chain, own certificate and key), kept to the end
//   between=1500,700    blocks allocated when a reconnect cycle has ended
//                       (every connection of it torn down), before the next
//                       begins, and freed when that next cycle has ended:
//                       each set sits in the heap while one cycle runs
//
// The blocks belong to connection 0 (the shared part) and are named by their
// own call sites ("application: hold", "application: between"); whatever is
// still allocated is freed at the end of the recording, so leaks stay the
// library's.
#pragma once

#include "tlsheap/record_source.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tlsheap::replay {

// A spec that does not parse. One line naming the problem.
class AppHeapError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Bounds a spec accepts: no device heap holds a 1 GiB block, and more
// blocks than this is not a pattern but a trace.
inline constexpr std::uint64_t kMaxAppBlock = 1ull << 30;
inline constexpr std::size_t kMaxAppBlocks = 64;

struct AppHeapSpec {
    std::vector<std::uint64_t> hold;
    std::vector<std::uint64_t> between;

    // Throws AppHeapError.
    static AppHeapSpec parse(const std::string& text);
    // The canonical form ("hold=8192,4096;between=1500").
    std::string text() const;
};

std::unique_ptr<RecordSource> make_app_heap_source(const AppHeapSpec& spec,
                                                   std::unique_ptr<RecordSource> input);

} // namespace tlsheap::replay
