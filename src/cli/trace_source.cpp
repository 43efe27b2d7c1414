#include "cli/trace_source.h"

#include "cli/cli_error.h"
#include "tlsheap/transform.h"

namespace tlsheap::cli {

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
        throw CliError(e.what(), kExitBadInput);
    } catch (const replay::TransformError& e) {
        throw CliError(e.what(), kExitBadInput);
    }
    return [path, spec] {
        return replay::make_transform(spec, std::make_unique<replay::TraceFileSource>(path));
    };
}

} // namespace tlsheap::cli
