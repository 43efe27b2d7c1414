// What the recording benchmarks share: the default variant (mbedTLS 3.6,
// default config) built once through the build cache, the default scenario,
// a scratch directory of the process's own, and the median they report.
#pragma once

#include "bench_median.h"
#include "orchestration/scenario.h"
#include "tlsheap_version.h"
#include "variants/cache_directory.h"
#include "variants/variant_builder.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace tlsheap::bench {

struct DefaultVariantSetup {
    build::VariantBuild variant;
    record::Scenario scenario;
    std::filesystem::path work;
};

inline const DefaultVariantSetup& default_variant_setup() {
    static const DefaultVariantSetup s = [] {
        namespace fs = std::filesystem;
        DefaultVariantSetup s;
        const fs::path cache = build::default_cache_directory();
        build::VariantBuilder builder(
            cache,
            {fs::path(kBuildSourceDir) / "src" / "recorder", fs::path(kBuildSourceDir) / "include"},
            std::max(1u, std::thread::hardware_concurrency()),
            [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); });
        build::VariantSpec spec;
        spec.tree = build::locate_mbedtls_tree(
            "3.6", cache, fs::path(kBuildSourceDir) / "scripts" / "fetch-mbedtls.sh");
        s.variant = builder.build(builder.prepare(spec));
        s.scenario = record::load_scenario("tls12-ecdhe-ecdsa-p256",
                                           fs::path(kBuildSourceDir) / "scenarios");
        s.work = fs::temp_directory_path() / ("tlsheap-bench-" + std::to_string(::getpid()));
        return s;
    }();
    return s;
}

} // namespace tlsheap::bench
