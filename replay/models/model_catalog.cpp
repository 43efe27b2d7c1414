// The models the replay knows, and how a --model argument becomes one.
#include "esp_tlsf_model.h"
#include "freertos_heap4_model.h"
#include "ideal_model.h"
#include "mbedtls_pool_model.h"
#include "tlsheap/allocator_model.h"
#include "tlsheap/spec_options.h"
#include "umm_model.h"

namespace tlsheap::replay {

namespace {

const std::vector<ModelInfo>& catalog() {
    static const std::vector<ModelInfo> models = {
        {"ideal", "no overhead, no fragmentation: footprint = live peak (the lower bound)", ""},
        {"mbedtls-pool", "mbedTLS memory_buffer_alloc.c static pool: first fit in free-list order",
         "backtrace=on|off, align=N, ptr=4|8"},
        {"freertos-heap4", "FreeRTOS heap_4: address-ordered first fit with coalescing",
         "align=N, start=N, ptr=4|8"},
        {"esp-tlsf", "ESP-IDF multi_heap TLSF: good fit over size classes set by the heap size",
         "idf=5.1..5.5, heap=BYTES"},
        {"umm", "umm_malloc (ESP8266 Arduino core): 8-byte blocks, best fit", "fit=best|first"},
    };
    return models;
}

const ModelInfo* find_model(std::string_view name) {
    for (const ModelInfo& info : catalog())
        if (info.name == name)
            return &info;
    return nullptr;
}

// Pools a 32-bit target cannot address are a usage error, not a replay result.
void check_pool_fits(const std::string& model, const ModelContext& context,
                     std::optional<std::uint64_t> largest) {
    if (context.pool_size && largest && *context.pool_size > *largest)
        throw ModelError("pool size " + std::to_string(*context.pool_size) +
                         " too large for model " + model + " (at most " + std::to_string(*largest) +
                         ")");
}

} // namespace

std::vector<ModelInfo> model_catalog() {
    return catalog();
}

std::unique_ptr<AllocatorModel> make_model(const ModelSpec& spec, const ModelContext& context) {
    const ModelInfo* info = find_model(spec.name);
    if (info == nullptr) {
        std::string names;
        for (const ModelInfo& model : catalog())
            names += (names.empty() ? "" : ", ") + model.name;
        throw ModelError("unknown model '" + spec.name + "' (models: " + names + ")");
    }
    if (context.pointer_size != 4 && context.pointer_size != 8)
        throw ModelError("pointer size " + std::to_string(context.pointer_size) +
                         " not supported by model " + spec.name + " (4 or 8)");
    SpecOptions<ModelError> options("model", info->name, info->options, spec.options);

    std::unique_ptr<AllocatorModel> model;
    if (spec.name == "ideal") {
        options.finish();
        model = std::make_unique<IdealModel>(context.pool_size);
    } else if (spec.name == "mbedtls-pool") {
        MbedtlsPoolModel::Config config;
        config.backtrace = options.on_off("backtrace", false);
        config.align = options.number("align", 4, 1, 4096, false, "a number from 1 to 4096");
        config.pointer_size = static_cast<unsigned>(
            options.number("ptr", context.pointer_size, 4, 8, true, "4 or 8"));
        config.pool_size = context.pool_size;
        options.finish();
        model = std::make_unique<MbedtlsPoolModel>(config);
    } else if (spec.name == "freertos-heap4") {
        FreertosHeap4Model::Config config;
        config.align = options.number("align", 8, 1, 32, true, "1, 2, 4, 8, 16 or 32");
        // Where the linker put ucHeap, modulo portBYTE_ALIGNMENT.
        config.start = options.number("start", 0, 0, config.align - 1, false,
                                      "ucHeap's address modulo align, from 0 to " +
                                          std::to_string(config.align - 1));
        config.pointer_size = static_cast<unsigned>(
            options.number("ptr", context.pointer_size, 4, 8, true, "4 or 8"));
        config.pool_size = context.pool_size;
        options.finish();
        model = std::make_unique<FreertosHeap4Model>(config);
    } else if (spec.name == "esp-tlsf") {
        EspTlsfModel::Config config;
        const std::string idf =
            options.choice("idf", "5.5", {"5.0", "5.1", "5.2", "5.3", "5.4", "5.5"});
        // v5.0 pins a TLSF whose control_t is a fixed array sized per chip
        // (SL_INDEX_COUNT_LOG2 5, FL_INDEX_MAX from the chip's DRAM or PSRAM
        // size in heap_tlsf_config.h), which this model does not lay out.
        if (idf == "5.0")
            throw ModelError("model esp-tlsf does not model ESP-IDF v5.0, whose TLSF has a fixed "
                             "per-chip configuration; use idf=5.1..5.5");
        config.idf_minor = static_cast<unsigned>(idf[2] - '0');
        config.pool_size = context.pool_size;
        const EspTlsfModel probe(config);
        config.nominal_heap =
            options.number("heap", EspTlsfModel::kDefaultNominalHeap, probe.smallest_pool(),
                           *probe.largest_pool(), false,
                           "a heap size in bytes from " + std::to_string(probe.smallest_pool()) +
                               " to " + std::to_string(*probe.largest_pool()));
        options.finish();
        model = std::make_unique<EspTlsfModel>(config);
    } else {
        UmmModel::Config config;
        config.best_fit = options.choice("fit", "best", {"best", "first"}) == "best";
        config.pool_size = context.pool_size;
        options.finish();
        model = std::make_unique<UmmModel>(config);
        // umm refuses too large a heap at run time, like the real umm_init_heap.
        return model;
    }
    check_pool_fits(spec.name, context, model->largest_pool());
    return model;
}

} // namespace tlsheap::replay
