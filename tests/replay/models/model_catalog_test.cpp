// model_catalog() and make_model(): names, options, and one-line errors.
#include "tlsheap/allocator_model.h"

#include <gtest/gtest.h>

namespace tlsheap::replay {
namespace {

std::string error_of(const std::string& text, ModelContext context = {}) {
    try {
        make_model(ModelSpec::parse(text), context);
    } catch (const ModelError& error) {
        const std::string message = error.what();
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
        return message;
    }
    return "(no error)";
}

TEST(ModelCatalog, ListsEveryModelWithItsOptions) {
    const std::vector<ModelInfo> catalog = model_catalog();
    ASSERT_EQ(catalog.size(), 5u);
    EXPECT_EQ(catalog[0].name, "ideal");
    EXPECT_EQ(catalog[0].options, "");
    EXPECT_EQ(catalog[1].name, "mbedtls-pool");
    EXPECT_EQ(catalog[1].options, "backtrace=on|off, align=N, ptr=4|8");
    EXPECT_EQ(catalog[2].name, "freertos-heap4");
    EXPECT_EQ(catalog[2].options, "align=N, start=N, ptr=4|8");
    EXPECT_EQ(catalog[3].name, "esp-tlsf");
    EXPECT_EQ(catalog[3].options, "idf=5.1..5.5, heap=BYTES");
    EXPECT_EQ(catalog[4].name, "umm");
    EXPECT_EQ(catalog[4].options, "fit=best|first");
    for (const ModelInfo& info : catalog) {
        EXPECT_FALSE(info.summary.empty());
        EXPECT_EQ(make_model(ModelSpec{info.name, {}}, ModelContext{})->name(), info.name);
    }
}

TEST(ModelCatalog, DescriptionsNameTheSettingsInEffect) {
    EXPECT_EQ(make_model(ModelSpec::parse("mbedtls-pool"), {8, std::nullopt})->description(),
              "mbedtls-pool (memory_buffer_alloc.c of mbedTLS 2.28/3.6, header 64 B, align 4, "
              "LP64, backtrace off, pool unbounded)");
    EXPECT_EQ(make_model(ModelSpec::parse("freertos-heap4"), {4, 4096})->description(),
              "freertos-heap4 (FreeRTOS heap_4.c, header 8 B, portBYTE_ALIGNMENT 8, minimum "
              "block 16 B, ILP32, heap 4096 B, ucHeap aligned)");
    EXPECT_EQ(make_model(ModelSpec::parse("freertos-heap4:start=4"), {4, 4096})->description(),
              "freertos-heap4 (FreeRTOS heap_4.c, header 8 B, portBYTE_ALIGNMENT 8, minimum "
              "block 16 B, ILP32, heap 4096 B, ucHeap at 4 mod 8: 4 B skipped)");
    EXPECT_EQ(make_model(ModelSpec::parse("esp-tlsf"), {})->description(),
              "esp-tlsf (ESP-IDF v5.5 multi_heap TLSF, ILP32, unbounded: nominal heap 262144 B, "
              "sl_log2 4, control 940 B, blocks keep the class-rounded size)");
    EXPECT_EQ(make_model(ModelSpec::parse("umm"), {4, 23})->description(),
              "umm (umm_malloc, best fit, 8-byte blocks, 4-byte header, heap 23 B, fewer than 3 "
              "blocks: no block to hand out (under 2, umm_init_heap writes past the heap): every "
              "malloc fails)");
    EXPECT_EQ(make_model(ModelSpec::parse("umm"), {4, 262152})->description(),
              "umm (umm_malloc, best fit, 8-byte blocks, 4-byte header, heap 262152 B, more than "
              "32768 blocks: block numbers past 32767 do not fit umm's 15 bits (umm_init_heap "
              "does not check; the real heap would be corrupt): not modelled, every malloc fails)");
    EXPECT_EQ(make_model(ModelSpec::parse("umm:fit=first"), {})->description(),
              "umm (umm_malloc, first fit, 8-byte blocks, 4-byte header, heap unbounded: the "
              "largest, 32768 blocks)");
}

TEST(ModelCatalog, PoolGranularityIsTheStepBetweenPoolsThatDiffer) {
    const auto granularity = [](const char* text, unsigned pointer_size = 4) {
        return make_model(ModelSpec::parse(text), {pointer_size, std::nullopt})->pool_granularity();
    };
    EXPECT_EQ(granularity("ideal"), 1u);
    EXPECT_EQ(granularity("mbedtls-pool"), 4u);                           // gcd(32, 4)
    EXPECT_EQ(granularity("mbedtls-pool:backtrace=on,align=16"), 8u);     // gcd(40, 16)
    EXPECT_EQ(granularity("mbedtls-pool:backtrace=on,align=16", 8), 16u); // gcd(80, 16)
    EXPECT_EQ(granularity("freertos-heap4"), 8u);
    EXPECT_EQ(granularity("esp-tlsf"), 4u);
    EXPECT_EQ(granularity("umm"), 8u);
}

TEST(ModelCatalog, UnknownModel) {
    EXPECT_EQ(
        error_of("dlmalloc"),
        "unknown model 'dlmalloc' (models: ideal, mbedtls-pool, freertos-heap4, esp-tlsf, umm)");
}

TEST(ModelCatalog, UnknownOption) {
    EXPECT_EQ(error_of("mbedtls-pool:foo=1"),
              "unknown option 'foo' for model mbedtls-pool (options: backtrace=on|off, align=N, "
              "ptr=4|8)");
    EXPECT_EQ(error_of("ideal:align=4"), "unknown option 'align' for model ideal (options: none)");
    EXPECT_EQ(error_of("mbedtls-pool:align=8,align=4"),
              "option 'align' given twice for model mbedtls-pool");
}

TEST(ModelCatalog, BadValues) {
    EXPECT_EQ(error_of("mbedtls-pool:backtrace=yes"),
              "bad value 'yes' for option 'backtrace' of model mbedtls-pool (expected on or off)");
    EXPECT_EQ(error_of("mbedtls-pool:align=0"),
              "bad value '0' for option 'align' of model mbedtls-pool (expected a number from 1 "
              "to 4096)");
    EXPECT_EQ(error_of("mbedtls-pool:align=4k"),
              "bad value '4k' for option 'align' of model mbedtls-pool (expected a number from 1 "
              "to 4096)");
    EXPECT_EQ(error_of("mbedtls-pool:ptr=6"),
              "bad value '6' for option 'ptr' of model mbedtls-pool (expected 4 or 8)");
    EXPECT_EQ(error_of("freertos-heap4:align=3"),
              "bad value '3' for option 'align' of model freertos-heap4 (expected 1, 2, 4, 8, 16 "
              "or 32)");
    EXPECT_EQ(error_of("freertos-heap4:align=4,start=4"),
              "bad value '4' for option 'start' of model freertos-heap4 (expected ucHeap's "
              "address modulo align, from 0 to 3)");
    EXPECT_EQ(error_of("esp-tlsf:idf=4.4"),
              "bad value '4.4' for option 'idf' of model esp-tlsf (expected one of 5.0, 5.1, 5.2, "
              "5.3, 5.4, 5.5)");
    EXPECT_EQ(error_of("esp-tlsf:idf=5.0"),
              "model esp-tlsf does not model ESP-IDF v5.0, whose TLSF has a fixed per-chip "
              "configuration; use idf=5.1..5.5");
    EXPECT_EQ(error_of("esp-tlsf:heap=100"),
              "bad value '100' for option 'heap' of model esp-tlsf (expected a heap size in bytes "
              "from 220 to 2147483647)");
    EXPECT_EQ(error_of("umm:fit=worst"),
              "bad value 'worst' for option 'fit' of model umm (expected one of best, first)");
}

TEST(ModelCatalog, ContextErrors) {
    EXPECT_EQ(error_of("ideal", {2, std::nullopt}),
              "pointer size 2 not supported by model ideal (4 or 8)");
    EXPECT_EQ(error_of("esp-tlsf", {4, std::uint64_t{1} << 31}),
              "pool size 2147483648 too large for model esp-tlsf (at most 2147483647)");
    EXPECT_EQ(error_of("mbedtls-pool", {4, std::uint64_t{1} << 32}),
              "pool size 4294967296 too large for model mbedtls-pool (at most 4294967295)");
    EXPECT_EQ(error_of("mbedtls-pool", {8, std::uint64_t{1} << 32}), "(no error)");
}

} // namespace
} // namespace tlsheap::replay
