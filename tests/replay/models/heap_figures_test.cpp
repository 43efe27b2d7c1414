// Every model's heap figures against its own allocate(): on a bounded heap,
// a request succeeds exactly when it is at most the largest request the
// figures name, so a verdict's "N B requested, largest free block M B" always
// agrees with whether the allocation failed. Random handshake-shaped scripts
// on heaps small enough that many requests fail.
#include "allocation_script.h"
#include "checked_model.h"

#include <gtest/gtest.h>

namespace tlsheap::replay::testing {
namespace {

void expect_figures_decide(const std::string& spec, std::uint64_t heap) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        const auto model = make_model(ModelSpec::parse(spec), ModelContext{4, heap});
        unsigned failures = 0;
        play(
            random_script(seed, 600),
            [&](std::uint64_t size) {
                const HeapFigures before = model->heap_figures();
                const std::optional<std::uint64_t> offset = model->allocate(size);
                EXPECT_EQ(offset.has_value(), size <= before.largest_request)
                    << spec << " seed " << seed << ": " << size << " B with largest request "
                    << before.largest_request;
                EXPECT_LE(before.largest_request, before.free_bytes) << spec;
                failures += offset ? 0 : 1;
                return offset;
            },
            [&](std::uint64_t offset) { model->release(offset); }, [] {});
        EXPECT_GT(failures, 0u) << spec << " seed " << seed << ": the heap never ran out";
    }
}

TEST(HeapFigures, DecideEveryAllocationOfEveryModel) {
    for (const std::string spec : {"ideal", "mbedtls-pool", "freertos-heap4", "esp-tlsf:idf=5.5",
                                   "esp-tlsf:idf=5.1", "umm", "umm:fit=first"}) {
        expect_figures_decide(spec, 24000);
    }
}

} // namespace
} // namespace tlsheap::replay::testing
