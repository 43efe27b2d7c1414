// Applies --set/--unset deltas to a config.h the way a person would edit it
// (and the way mbedTLS's scripts/config.py does): uncomment or replace the
// option's #define line, comment it out to unset, and add options the file
// does not mention just before its closing include of check_config.h (2.x)
// or its end. The result is a real config.h the user can take away.
#pragma once

#include <string>
#include <vector>

namespace tlsheap::build {

struct ConfigDelta {
    enum class Kind { Set, Unset };
    Kind kind = Kind::Set;
    std::string name;
    std::string value; // Set only; "" defines the macro without a value

    // "NAME" or "NAME=VALUE" for --set, "NAME" for --unset. Throws BuildError
    // on a malformed expression.
    static ConfigDelta parse_set(const std::string& text);
    static ConfigDelta parse_unset(const std::string& text);
    std::string to_string() const; // "--set NAME=VALUE" / "--unset NAME"
};

std::string apply_config_deltas(const std::string& config_text,
                                const std::vector<ConfigDelta>& deltas);

// True if the text has an active (#define, not commented) definition of name.
bool config_defines(const std::string& config_text, const std::string& name);

} // namespace tlsheap::build
