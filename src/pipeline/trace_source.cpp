#include "pipeline/trace_source.h"

#include "tlsheap/app_heap.h"
#include "tlsheap/transform.h"
#include "tlsheap/user_error.h"

namespace tlsheap::pipeline {

replay::SourceFactory trace_source(const std::string& path, const std::string& transform) {
    if (transform.empty()) {
        return [path] { return std::make_unique<replay::TraceFileSource>(path); };
    }
    replay::TransformSpec spec;
    try {
        spec = replay::TransformSpec::parse(transform);
        // Unknown transforms and options are refused before any replay.
        replay::make_transform(spec, std::make_unique<replay::TraceFileSource>(path));
    } catch (const replay::ModelError& e) {
        throw UserError(e.what(), kExitBadInput);
    } catch (const replay::TransformError& e) {
        throw UserError(e.what(), kExitBadInput);
    }
    return [path, spec] {
        return replay::make_transform(spec, std::make_unique<replay::TraceFileSource>(path));
    };
}

namespace {

replay::AppHeapSpec parse_app_heap(const std::string& app_heap) {
    try {
        return replay::AppHeapSpec::parse(app_heap);
    } catch (const replay::AppHeapError& e) {
        throw UserError(e.what(), kExitBadInput);
    }
}

} // namespace

void check_app_heap(const std::string& app_heap) {
    if (!app_heap.empty()) {
        parse_app_heap(app_heap);
    }
}

replay::SourceFactory with_app_heap(replay::SourceFactory open, const std::string& app_heap) {
    if (app_heap.empty()) {
        return open;
    }
    const replay::AppHeapSpec spec = parse_app_heap(app_heap);
    return [open, spec] { return replay::make_app_heap_source(spec, open()); };
}

replay::SourceFactory trace_source(const std::string& path, const std::string& transform,
                                   const std::string& app_heap) {
    return with_app_heap(trace_source(path, transform), app_heap);
}

} // namespace tlsheap::pipeline
