#include "real_pool_check.h"

#include "tlsheap/trace_meta.h"

#include <string>

namespace tlsheap::replay {

namespace {

// The allocator a trace says it was recorded on.
RecordedAllocator recorded_on(const trace::TraceInfo& info) {
    return info.meta(trace::meta::kAllocator) == trace::meta::kAllocatorMemoryBufferAlloc
               ? RecordedAllocator::MemoryBufferAlloc
               : RecordedAllocator::None;
}

} // namespace

void RealPoolCheck::on_description(const trace::Record& r) {
    if (r.tag == trace::Tag::Meta && r.key == trace::meta::kPoolBase) {
        pool_base_ = trace::meta_number(r.value); // the reader checked it is a number
    }
}

bool RealPoolCheck::applies(const AllocatorModel& model, const trace::TraceInfo& info) {
    const RecordedAllocator recorded = recorded_on(info);
    return recorded != RecordedAllocator::None && model.reproduces() == recorded &&
           !info.meta(trace::meta::kPoolBase).empty() && info.meta(trace::meta::kTransform).empty();
}

void RealPoolCheck::compare(ModelRun& run, const trace::Record& r,
                            const std::optional<std::uint64_t>& offset) const {
    const std::uint64_t real = r.address - pool_base_;
    if (offset && *offset == real) {
        ++run.real_pool_matches;
        return;
    }
    ++run.real_pool_mismatches;
    if (run.first_mismatch.empty()) {
        run.first_mismatch =
            "event " + std::to_string(r.seq) + ": " + std::to_string(r.bytes_asked()) +
            " bytes, the real allocator gave offset " + std::to_string(real) + ", the model " +
            (offset ? std::to_string(*offset) : std::string("NULL"));
    }
}

} // namespace tlsheap::replay
