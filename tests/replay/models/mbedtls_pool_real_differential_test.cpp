// Differential test: the mbedtls-pool model against the real
// library/memory_buffer_alloc.c of mbedTLS 3.6, compiled into this test with
// mbedtls_alloc_test_config.h. Every returned pointer (minus the pool start),
// every NULL and the MBEDTLS_MEMORY_DEBUG maxima must agree, event by event.
// The build compiles this file once per variant (alignment, backtrace, and
// -m32 for the 32-bit header) through TLSHEAP_REAL_* definitions.
#include "allocation_script.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/platform.h"
#include "tlsheap/allocator_model.h"

#include <cstdint>
#include <cstdio>
#include <gtest/gtest.h>
#include <optional>
#include <set>
#include <string>
#include <vector>

#ifndef TLSHEAP_REAL_SEQUENCES
#define TLSHEAP_REAL_SEQUENCES 2000
#endif

namespace tlsheap::replay::testing {
namespace {

constexpr std::uint64_t kAlign = MBEDTLS_MEMORY_ALIGN_MULTIPLE;
#if defined(MBEDTLS_MEMORY_BACKTRACE)
constexpr bool kBacktrace = true;
#else
constexpr bool kBacktrace = false;
#endif
constexpr unsigned kSequences = TLSHEAP_REAL_SEQUENCES;
constexpr std::size_t kBufferSize = 4u << 20;

alignas(64) unsigned char g_buffer[kBufferSize];

// The real allocator over g_buffer; one at a time (its state is global).
class RealPool {
  public:
    explicit RealPool(std::size_t len) { mbedtls_memory_buffer_alloc_init(g_buffer, len); }
    // Blocks still live are freed first: with MBEDTLS_MEMORY_BACKTRACE each
    // holds a backtrace_symbols() array from the system heap.
    ~RealPool() {
        for (std::uint64_t offset : live_)
            mbedtls_free(g_buffer + offset);
        mbedtls_memory_buffer_alloc_free();
    }
    RealPool(const RealPool&) = delete;
    RealPool& operator=(const RealPool&) = delete;

    std::optional<std::uint64_t> allocate(std::uint64_t size) {
        void* pointer = mbedtls_calloc(1, static_cast<std::size_t>(size));
        if (pointer == nullptr)
            return std::nullopt;
        const auto offset =
            static_cast<std::uint64_t>(static_cast<unsigned char*>(pointer) - g_buffer);
        live_.insert(offset);
        return offset;
    }
    void release(std::uint64_t offset) {
        live_.erase(offset);
        mbedtls_free(g_buffer + offset);
    }

    std::pair<std::uint64_t, std::uint64_t> maxima() const {
        std::size_t used = 0, blocks = 0;
        mbedtls_memory_buffer_alloc_max_get(&used, &blocks);
        return {used, blocks};
    }

  private:
    std::set<std::uint64_t> live_;
};

std::unique_ptr<AllocatorModel> pool_model(std::optional<std::uint64_t> pool_size) {
    const std::string spec = "mbedtls-pool:align=" + std::to_string(kAlign) +
                             ",backtrace=" + (kBacktrace ? "on" : "off");
    return make_model(ModelSpec::parse(spec),
                      ModelContext{static_cast<unsigned>(sizeof(void*)), pool_size});
}

std::uint64_t statistic(const AllocatorModel& model, const std::string& name) {
    for (const auto& [key, value] : model.statistics())
        if (key == name)
            return value;
    return UINT64_MAX;
}

// Plays `script` against the real allocator with a pool of `len` bytes and
// against the model of the same pool, comparing after every event. Returns
// what the real allocator returned, allocation by allocation.
std::vector<std::optional<std::uint64_t>> play_against_real(const std::vector<ScriptEvent>& script,
                                                            std::size_t len) {
    RealPool real(len);
    std::unique_ptr<AllocatorModel> model = pool_model(len);
    std::vector<std::optional<std::uint64_t>> real_by_id, results;
    unsigned index = 0;
    for (const ScriptEvent& event : script) {
        ++index;
        if (event.allocate) {
            const std::optional<std::uint64_t> expected = real.allocate(event.size);
            const std::optional<std::uint64_t> got = model->allocate(event.size);
            EXPECT_EQ(got, expected) << "event " << index << ": allocate(" << event.size << ")";
            if (got != expected)
                return results;
            if (real_by_id.size() <= event.id)
                real_by_id.resize(event.id + 1);
            real_by_id[event.id] = expected;
            results.push_back(expected);
        } else {
            if (!real_by_id[event.id])
                continue;
            real.release(*real_by_id[event.id]);
            model->release(*real_by_id[event.id]);
        }
        const auto [max_used, max_blocks] = real.maxima();
        EXPECT_EQ(statistic(*model, "max_used"), max_used) << "event " << index;
        EXPECT_EQ(statistic(*model, "max_blocks"), max_blocks) << "event " << index;
        EXPECT_EQ(model->verify(), "") << "event " << index;
        if (index % 64 == 0 && len >= (kBacktrace ? 10 : 8) * sizeof(void*) + kAlign) {
            EXPECT_EQ(mbedtls_memory_buffer_alloc_verify(), 0) << "event " << index;
        }
        if (::testing::Test::HasFailure())
            return results;
    }
    return results;
}

std::vector<std::optional<std::uint64_t>> play_model(AllocatorModel& model,
                                                     const std::vector<ScriptEvent>& script) {
    return play(
        script, [&](std::uint64_t size) { return model.allocate(size); },
        [&](std::uint64_t offset) { model.release(offset); },
        [&] { EXPECT_EQ(model.verify(), ""); });
}

bool all_succeeded(const std::vector<std::optional<std::uint64_t>>& results) {
    for (const auto& result : results)
        if (!result)
            return false;
    return true;
}

TEST(MbedtlsPoolRealDifferential, ModelHeaderMatchesTheRealStruct) {
    // The real header: 7 words (+2 with backtrace) and magic2.
    const std::uint64_t expected = (kBacktrace ? 10 : 8) * sizeof(void*);
    std::unique_ptr<AllocatorModel> model = pool_model(std::nullopt);
    RealPool real(kBufferSize);
    // The first block's pointer sits one header into the pool in both.
    EXPECT_EQ(model->allocate(1), std::optional<std::uint64_t>(expected));
    EXPECT_EQ(real.allocate(1), std::optional<std::uint64_t>(expected));
}

TEST(MbedtlsPoolRealDifferential, EveryPointerAndMaximumMatchesInALargePool) {
    for (unsigned seed = 0; seed < kSequences; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        const std::vector<ScriptEvent> script = random_script(seed, 300);
        const auto real = play_against_real(script, 1u << 20);
        ASSERT_FALSE(::testing::Test::HasFailure());
        // The unbounded model places every block where the real 1 MiB pool did.
        std::unique_ptr<AllocatorModel> unbounded = pool_model(std::nullopt);
        ASSERT_EQ(play_model(*unbounded, script), real);
        ASSERT_TRUE(all_succeeded(real));
    }
}

TEST(MbedtlsPoolRealDifferential, SmallPoolsRunToFailureTheSameWay) {
    const std::size_t pools[] = {
        kAlign + (kBacktrace ? 80 : 64) - 1, 200, 1000, 2048, 4099, 9000, 20000};
    for (std::size_t len : pools)
        for (unsigned seed = 0; seed < kSequences / 10; ++seed) {
            SCOPED_TRACE("pool " + std::to_string(len) + ", seed " + std::to_string(seed));
            play_against_real(random_script(seed + 100000, 300, 3000), len);
            ASSERT_FALSE(::testing::Test::HasFailure());
        }
}

// min_pool_after_replay() is the smallest len that replays the trace pointer
// for pointer. One alignment step less, the real allocator either fails or
// places some block elsewhere (and the model, bounded to that pool, agrees
// with it event by event).
TEST(MbedtlsPoolRealDifferential, MinimumPoolIsTheSmallestThatReplaysTheTrace) {
    unsigned diverged_but_succeeded = 0;
    for (unsigned seed = 0; seed < kSequences; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        const std::vector<ScriptEvent> script = random_script(seed + 5000, 250);
        std::unique_ptr<AllocatorModel> unbounded = pool_model(std::nullopt);
        const auto placement = play_model(*unbounded, script);
        const std::uint64_t minimum = unbounded->min_pool_after_replay();
        ASSERT_LE(minimum, kBufferSize);

        const auto at_minimum = play_against_real(script, minimum);
        ASSERT_FALSE(::testing::Test::HasFailure());
        ASSERT_EQ(at_minimum, placement) << "minimum pool " << minimum;

        const std::uint64_t step = unbounded->pool_granularity(); // the alignment here
        ASSERT_EQ(step, kAlign);
        const auto below = play_against_real(script, minimum - step);
        ASSERT_FALSE(::testing::Test::HasFailure());
        ASSERT_NE(below, placement) << "pool " << minimum - step << " replays the trace too";
        if (all_succeeded(below))
            ++diverged_but_succeeded;
    }
    std::printf("min pool: %u of %u traces still succeed one alignment step below, with other "
                "pointers\n",
                diverged_but_succeeded, kSequences);
}

// A sequence where handing the tail out whole and freeing it later puts it at
// the head of the free list: the smallest pool that replays the trace is a
// header and an alignment step above the highest block end. Worked out in
// mbedtls_pool_model_test.cpp (FreedWholeTailForbidsPoolsThatWouldDiverge).
TEST(MbedtlsPoolRealDifferential, WholeTailReturnedOutOfPlaceNeedsTheLargerPool) {
    const std::uint64_t header = (kBacktrace ? 10 : 8) * sizeof(void*);
    std::vector<ScriptEvent> script = {
        {true, 0, 16}, {true, 1, 16}, {true, 2, 8},  {true, 3, 16}, {true, 4, 100},
        {false, 1, 0}, {false, 3, 0}, {false, 4, 0}, {true, 5, 16}, {true, 6, 148},
    };
    if (kAlign > 4)
        GTEST_SKIP() << "the hand-worked numbers assume 4-byte alignment";
    std::unique_ptr<AllocatorModel> unbounded = pool_model(std::nullopt);
    const auto placement = play_model(*unbounded, script);
    // Highest block end: the 100-byte block ends at 5 headers + 16+16+8+16+100.
    const std::uint64_t highest_end = 5 * header + 156;
    EXPECT_EQ(unbounded->min_pool_after_replay(), highest_end + header + kAlign);
    EXPECT_EQ(play_against_real(script, highest_end + header + kAlign), placement);
    const auto at_highest_end = play_against_real(script, highest_end);
    EXPECT_FALSE(all_succeeded(at_highest_end));
}

} // namespace
} // namespace tlsheap::replay::testing
