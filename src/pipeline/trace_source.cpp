#include "pipeline/trace_source.h"

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

} // namespace tlsheap::pipeline
