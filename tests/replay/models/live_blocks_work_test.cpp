// Work per operation with 40,000 blocks alive at once (8,000 small ones in
// umm, whose heap is at most 32,768 blocks of 8 bytes): the models must not
// walk their free lists (or every block) on each allocation, free, or
// free-space figure the replay asks for. Counted, not timed: each model
// exposes how many free-list index nodes its searches looked at, and the
// average per operation must stay logarithmic in the live blocks. (The
// models before issue 15, their walks counted the same way, averaged 27,174
// (mbedtls-pool), 4,874 (freertos-heap4), 26,745 (esp-tlsf), 5,683 and 5,387
// (umm best, first fit) steps per operation here; the indexes take 22-35.)
#include "esp_tlsf_model.h"
#include "freertos_heap4_model.h"
#include "live_blocks_script.h"
#include "mbedtls_pool_model.h"
#include "umm_model.h"

#include <gtest/gtest.h>
#include <string>

namespace tlsheap::replay {
namespace {

using testing::live_blocks_script;
using testing::play;

constexpr unsigned kLive = 40'000;
// Blocks of at most 40 bytes, about two umm blocks each on average.
constexpr unsigned kUmmLive = 8'000;
constexpr std::uint64_t kUmmLargest = 40;
// log2(40,000) is about 15; a treap's searches stay within a small multiple.
constexpr double kMostVisitsPerOperation = 64;

// Plays the script the way the replay engine drives a model: the figures
// below the footprint whenever it rises, the heap figures after every
// allocation (as `replay --pool` does). Returns the number of operations.
std::uint64_t drive(AllocatorModel& model, unsigned live = kLive, std::uint64_t largest = 700) {
    std::uint64_t operations = 0;
    std::uint64_t footprint = 0;
    std::uint64_t failures = 0;
    const auto results = play(
        live_blocks_script(live, largest),
        [&](std::uint64_t size) {
            const auto offset = model.allocate(size);
            failures += !offset;
            (void)model.heap_figures();
            return offset;
        },
        [&](std::uint64_t offset) { model.release(offset); },
        [&] {
            ++operations;
            if (model.footprint() > footprint) {
                footprint = model.footprint();
                (void)model.free_bytes_below_footprint();
                (void)model.largest_free_block_below_footprint();
            }
        });
    EXPECT_EQ(failures, 0u) << model.description();
    EXPECT_EQ(model.verify(), "");
    return operations;
}

// The average visits per operation, kept in the test's XML/JSON output too.
void expect_logarithmic(std::uint64_t visits, std::uint64_t operations) {
    const double per_operation = static_cast<double>(visits) / static_cast<double>(operations);
    ::testing::Test::RecordProperty("visits_per_operation", std::to_string(per_operation));
    EXPECT_LE(per_operation, kMostVisitsPerOperation);
}

TEST(LiveBlocksWork, MbedtlsPoolFirstFitIsLogarithmic) {
    MbedtlsPoolModel model(MbedtlsPoolModel::Config{});
    const std::uint64_t operations = drive(model);
    expect_logarithmic(model.free_list_visits(), operations);
}

TEST(LiveBlocksWork, MbedtlsPoolBoundedFirstFitIsLogarithmic) {
    MbedtlsPoolModel::Config config;
    config.pool_size = 64u << 20;
    MbedtlsPoolModel model(config);
    const std::uint64_t operations = drive(model);
    expect_logarithmic(model.free_list_visits(), operations);
}

TEST(LiveBlocksWork, FreertosHeap4FirstFitAndInsertionAreLogarithmic) {
    FreertosHeap4Model model(FreertosHeap4Model::Config{});
    const std::uint64_t operations = drive(model);
    expect_logarithmic(model.free_list_visits(), operations);
}

TEST(LiveBlocksWork, FreertosHeap4BoundedFirstFitAndInsertionAreLogarithmic) {
    FreertosHeap4Model::Config config;
    config.pool_size = 64u << 20;
    FreertosHeap4Model model(config);
    const std::uint64_t operations = drive(model);
    expect_logarithmic(model.free_list_visits(), operations);
}

TEST(LiveBlocksWork, EspTlsfFiguresAreLogarithmic) {
    EspTlsfModel::Config config;
    config.pool_size = 64u << 20;
    EspTlsfModel model(config);
    const std::uint64_t operations = drive(model);
    expect_logarithmic(model.free_list_visits(), operations);
}

TEST(LiveBlocksWork, UmmBestFitIsLogarithmic) {
    UmmModel model(UmmModel::Config{});
    const std::uint64_t operations = drive(model, kUmmLive, kUmmLargest);
    expect_logarithmic(model.free_list_visits(), operations);
}

TEST(LiveBlocksWork, UmmFirstFitIsLogarithmic) {
    UmmModel::Config config;
    config.best_fit = false;
    UmmModel model(config);
    const std::uint64_t operations = drive(model, kUmmLive, kUmmLargest);
    expect_logarithmic(model.free_list_visits(), operations);
}

TEST(LiveBlocksWork, UmmBoundedBestFitIsLogarithmic) {
    UmmModel::Config config;
    config.pool_size = 200u << 10;
    UmmModel model(config);
    const std::uint64_t operations = drive(model, kUmmLive, kUmmLargest);
    expect_logarithmic(model.free_list_visits(), operations);
}

} // namespace
} // namespace tlsheap::replay
