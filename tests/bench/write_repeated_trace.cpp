// Writes a long trace made of a committed sample's connection repeated
// (repeated_trace.h), for measurements that run the tlsheap binary on it
// (scripts/bench-replay-vs-heaptrack.sh). Prints the event count written and
// the number of repetitions.
//
//   write_repeated_trace OUTPUT [MIN_EVENTS [SAMPLE]]
#include "repeated_trace.h"
#include "tlsheap_version.h"

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) {
    if (argc < 2 || argc > 4) {
        std::fprintf(stderr, "usage: %s OUTPUT [MIN_EVENTS [SAMPLE]]\n", argv[0]);
        return 2;
    }
    try {
        const std::uint64_t min_events = argc > 2 ? std::stoull(argv[2]) : 10'000'000;
        const std::string sample = argc > 3 ? std::string(argv[3])
                                            : std::string(tlsheap::kBuildSourceDir) +
                                                  "/traces/tls12-ecdhe-ecdsa-p256.trace";
        const tlsheap::bench::RepeatedTrace t =
            tlsheap::bench::write_repeated_trace(sample, min_events, argv[1]);
        std::printf("%llu %llu\n", static_cast<unsigned long long>(t.events),
                    static_cast<unsigned long long>(t.repetitions));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "write_repeated_trace: %s\n", e.what());
        return 1;
    }
    return 0;
}
