// libFuzzer harness: the config editor (--set/--unset on a config.h) and the
// cached effective config. Input: lines of deltas ("+NAME=VALUE" for --set,
// "-NAME" for --unset), an empty line, then the config.h text. Malformed
// deltas must be a BuildError; an accepted --set must leave the macro
// defined and an --unset leave it undefined; a MacroSet with names survives
// its serialization.
#include "variants/build_error.h"
#include "variants/config_editor.h"
#include "variants/effective_config.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace tlsheap::build;

void fail(const char* what, const std::string& name) {
    std::fprintf(stderr, "%s: %s\n", what, name.c_str());
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    const auto blank = input.find("\n\n");
    const std::string delta_text = input.substr(0, blank);
    const std::string config = blank == std::string::npos ? "" : input.substr(blank + 2);

    std::vector<ConfigDelta> deltas;
    std::size_t start = 0;
    while (start < delta_text.size()) {
        auto end = delta_text.find('\n', start);
        if (end == std::string::npos)
            end = delta_text.size();
        const std::string line = delta_text.substr(start, end - start);
        start = end + 1;
        if (line.empty())
            continue;
        try {
            deltas.push_back(line[0] == '-' ? ConfigDelta::parse_unset(line.substr(1))
                                            : ConfigDelta::parse_set(line.substr(1)));
        } catch (const BuildError&) {
        }
    }
    const std::string edited = apply_config_deltas(config, deltas);
    // Only the last delta of a name decides.
    std::map<std::string, ConfigDelta::Kind> last;
    for (const ConfigDelta& d : deltas)
        last[d.name] = d.kind;
    for (const auto& [name, kind] : last) {
        const bool defined = config_defines(edited, name);
        if (kind == ConfigDelta::Kind::Set && !defined)
            fail("--set left the macro undefined", name);
        if (kind == ConfigDelta::Kind::Unset && defined)
            fail("--unset left the macro defined", name);
    }

    // The effective config's cache format: "NAME VALUE" lines. tlsheap writes
    // it from preprocessor output, so every name is non-empty.
    const MacroSet macros = MacroSet::deserialize(config);
    if (!macros.defines("") && MacroSet::deserialize(macros.serialize()).all() != macros.all())
        fail("MacroSet changed through serialize/deserialize", "");
    return 0;
}
