// The massif export (trace export --format massif) of a hand-made trace,
// worked out below from massif's file format as ms_print reads it: a snapshot
// per event here (fewer events than points), the peak the one detailed
// snapshot, its tree from the call site outwards, children largest first.
#include "../../replay/trace_builder.h"
#include "report/massif_file.h"

#include <gtest/gtest.h>
#include <sstream>

namespace tlsheap::report {
namespace {

// Stack 1: the recorder's shim, the platform layer, a frame with an inlined
// call site whose name a hostile trace filled with '#' (ms_print's comment)
// and a line break, then main. Stack 2: the shim and an address in no module
// (no call site: every frame kept). Stack 3 is never described.
std::vector<unsigned char> hand_made_trace() {
    tlsheap::testing::TraceBuilder b;
    b.frame(0x10, {"tlsheap_calloc_shim"}, false)
        .frame(0x20, {"mbedtls_calloc"})
        .frame(0x30, {"ssl#setup\nx", "mbedtls_ssl_setup"})
        .frame(0x40, {"main"}, false)
        .stack(1, std::vector<std::uint64_t>{0x10, 0x20, 0x30, 0x40})
        .stack(2, std::vector<std::uint64_t>{0x10, 0x999});
    b.alloc(100, 0x1000, 1);
    b.alloc(50, 0x2000, 2);
    b.alloc(30, 0x3000, 3); // live 180: the peak
    b.free(0x2000);         // 130
    b.alloc(10, 0x4000, 1); // 140
    return b.finish();
}

std::string snapshot(unsigned n, unsigned time, unsigned heap, unsigned extra,
                     const std::string& tree) {
    return "#-----------\nsnapshot=" + std::to_string(n) +
           "\n#-----------\ntime=" + std::to_string(time) + "\nmem_heap_B=" + std::to_string(heap) +
           "\nmem_heap_extra_B=" + std::to_string(extra) + "\nmem_stacks_B=0\nheap_tree=" + tree +
           "\n";
}

std::string exported(const std::vector<replay::ModelSpec>& models,
                     std::optional<std::size_t> model) {
    auto reader = trace::TraceReader::from_bytes(hand_made_trace());
    replay::ReplayOptions options;
    options.models = models;
    options.stack_tables = true;
    const replay::ReplayResult result = replay::replay_trace(*reader, options);
    std::ostringstream out;
    write_massif(out, result, {"t.trace\n#x", "tlsheap trace export", model});
    return out.str();
}

TEST(MassifFile, HandMadeTraceGivesItsSnapshotsAndPeakTree) {
    const std::string peak_tree = "peak\n"
                                  "n3: 180 (heap allocation functions) mbedtls_calloc\n"
                                  " n1: 100 0x30: ssl?setup?x (library/x.c:1)\n"
                                  "  n1: 100 0x30: mbedtls_ssl_setup (library/x.c:1)\n"
                                  "   n0: 100 0x40: main (library/x.c:1)\n"
                                  " n1: 50 0x10: tlsheap_calloc_shim (library/x.c:1)\n"
                                  "  n0: 50 0x999: ???\n"
                                  " n0: 30 [unknown]";
    EXPECT_EQ(exported({}, std::nullopt),
              "desc: tlsheap trace export\ncmd: t.trace??x\ntime_unit: i\n" +
                  snapshot(0, 0, 0, 0, "empty") + snapshot(1, 1, 100, 0, "empty") +
                  snapshot(2, 2, 150, 0, "empty") + snapshot(3, 3, 180, 0, peak_tree) +
                  snapshot(4, 4, 130, 0, "empty") + snapshot(5, 5, 140, 0, "empty"));
}

// The ideal model's footprint is its highest live bytes so far: the extra
// heap is what has been freed below that high-water mark.
TEST(MassifFile, ModelFootprintBeyondTheLiveBytesIsTheExtraHeap) {
    const std::string text = exported({replay::ModelSpec::parse("ideal")}, 0);
    EXPECT_NE(text.find(snapshot(4, 4, 130, 50, "empty")), std::string::npos) << text;
    EXPECT_NE(text.find(snapshot(5, 5, 140, 40, "empty")), std::string::npos) << text;
    EXPECT_NE(text.find("time=3\nmem_heap_B=180\nmem_heap_extra_B=0\n"), std::string::npos);
    // A model the replay did not run adds nothing.
    EXPECT_EQ(exported({}, 3).find("mem_heap_extra_B=5"), std::string::npos);
}

} // namespace
} // namespace tlsheap::report
