#include "variants/config_editor.h"

#include "variants/build_error.h"

#include <regex>
#include <sstream>

namespace tlsheap::build {

namespace {

bool is_identifier(const std::string& s) {
    static const std::regex identifier(R"([A-Za-z_][A-Za-z0-9_]*)");
    return std::regex_match(s, identifier);
}

// A value stays on its #define's line: a control character (newline, CR,
// NUL, ...) or a trailing backslash would start lines of its own in the
// generated header, an #include of any file among them.
std::string value_problem(const std::string& value) {
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            return "the value holds a control character";
        }
    }
    if (value.ends_with('\\')) {
        return "the value ends in a backslash, which would continue the line";
    }
    return {};
}

// The text for a one-line error message: control characters as \xNN.
std::string printable(const std::string& text) {
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            out += {'\\', 'x', hex[u >> 4], hex[u & 15]};
        } else {
            out += c;
        }
    }
    return out;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        lines.push_back(line);
    }
    return lines;
}

// "#define NAME ..." (active) or "//#define NAME ..." (commented out).
struct DefineLine {
    bool active = false;
    bool matches = false;
};

DefineLine classify(const std::string& line, const std::string& name) {
    static const std::regex define(R"(^\s*(//\s*)?#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)\b)");
    DefineLine d;
    if (line.find(name) == std::string::npos) {
        return d;
    }
    std::smatch m;
    if (std::regex_search(line, m, define) && m[2] == name) {
        d.matches = true;
        d.active = !m[1].matched;
    }
    return d;
}

std::string define_line(const ConfigDelta& d) {
    return d.value.empty() ? "#define " + d.name : "#define " + d.name + " " + d.value;
}

} // namespace

ConfigDelta ConfigDelta::parse_set(const std::string& text) {
    ConfigDelta d;
    d.kind = Kind::Set;
    const auto eq = text.find('=');
    d.name = text.substr(0, eq);
    if (!is_identifier(d.name)) {
        throw BuildError("--set " + printable(text) + ": '" + printable(d.name) +
                         "' is not a macro name");
    }
    if (eq != std::string::npos) {
        d.value = text.substr(eq + 1);
        if (d.value.empty()) {
            throw BuildError("--set " + text + ": give a value after '=' or leave '=' out");
        }
        if (const std::string problem = value_problem(d.value); !problem.empty()) {
            throw BuildError("--set " + printable(text) + ": " + problem +
                             " (a value is one line)");
        }
    }
    return d;
}

ConfigDelta ConfigDelta::parse_unset(const std::string& text) {
    if (!is_identifier(text)) {
        throw BuildError("--unset " + printable(text) + ": not a macro name");
    }
    ConfigDelta d;
    d.kind = Kind::Unset;
    d.name = text;
    return d;
}

std::string ConfigDelta::to_string() const {
    if (kind == Kind::Unset) {
        return "--unset " + name;
    }
    return value.empty() ? "--set " + name : "--set " + name + "=" + value;
}

bool config_defines(const std::string& config_text, const std::string& name) {
    for (const std::string& line : split_lines(config_text)) {
        if (classify(line, name).active) {
            return true;
        }
    }
    return false;
}

std::string apply_config_deltas(const std::string& config_text,
                                const std::vector<ConfigDelta>& deltas) {
    std::vector<std::string> lines = split_lines(config_text);
    std::vector<std::string> appended;
    for (const ConfigDelta& d : deltas) {
        bool handled = false;
        if (d.kind == ConfigDelta::Kind::Unset) {
            for (std::string& line : lines) {
                if (classify(line, d.name).active) {
                    line = "//" + line;
                }
            }
            // Also drop it from what an earlier delta appended.
            std::erase_if(appended,
                          [&](const std::string& l) { return classify(l, d.name).active; });
            continue;
        }
        // Set: replace the first active definition, else revive the first
        // commented one; other active copies are commented out.
        for (std::string& line : lines) {
            const DefineLine c = classify(line, d.name);
            if (c.matches && c.active) {
                if (handled) {
                    line = "//" + line;
                } else {
                    line = define_line(d);
                    handled = true;
                }
            }
        }
        if (!handled) {
            for (std::string& line : lines) {
                if (classify(line, d.name).matches) {
                    line = define_line(d);
                    handled = true;
                    break;
                }
            }
        }
        if (!handled) {
            std::erase_if(appended,
                          [&](const std::string& l) { return classify(l, d.name).matches; });
            appended.push_back(define_line(d));
        }
    }
    if (!appended.empty()) {
        // Before 2.x's user-config/check_config tail, or before the include
        // guard's #endif, so the additions are checked with the rest.
        static const std::regex anchor(
            R"(^\s*#\s*(include\s+.*check_config\.h.*|if\s+defined\s*\(\s*MBEDTLS_USER_CONFIG_FILE\s*\).*))");
        std::size_t at = lines.size();
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (std::regex_search(lines[i], anchor)) {
                at = i;
                break;
            }
        }
        if (at == lines.size()) {
            for (std::size_t i = lines.size(); i-- > 0;) {
                if (lines[i].find_first_not_of(" \t") == std::string::npos ||
                    lines[i].rfind("//", 0) == 0 || lines[i].rfind("/*", 0) == 0 ||
                    lines[i].rfind(" *", 0) == 0) {
                    continue;
                }
                static const std::regex endif(R"(^\s*#\s*endif)");
                if (std::regex_search(lines[i], endif)) {
                    at = i; // the include guard's #endif
                }
                break;
            }
        }
        std::vector<std::string> block = {"", "/* Added by tlsheap (--set) */"};
        block.insert(block.end(), appended.begin(), appended.end());
        block.push_back("");
        lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), block.begin(), block.end());
    }
    std::string out;
    for (const std::string& line : lines) {
        out += line;
        out += '\n';
    }
    return out;
}

} // namespace tlsheap::build
