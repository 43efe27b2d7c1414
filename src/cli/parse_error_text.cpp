#include "cli/parse_error_text.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <regex>

namespace tlsheap::cli {

namespace {

// "tlsheap trace show": the commands the parse had reached.
std::string command_path(const CLI::App& app) {
    std::string path = "tlsheap";
    const CLI::App* at = &app;
    while (true) {
        const auto parsed = at->get_subcommands();
        if (parsed.empty()) {
            return path;
        }
        at = parsed.front();
        path += " " + at->get_name();
    }
}

const CLI::App& deepest(const CLI::App& app) {
    const CLI::App* at = &app;
    while (!at->get_subcommands().empty()) {
        at = at->get_subcommands().front();
    }
    return *at;
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

std::string times(const std::string& n) {
    return n == "1" ? "once" : n + " times";
}

} // namespace

std::string parse_error_text(const CLI::ParseError& error, const CLI::App& app) {
    const std::string what = error.what();
    const std::string path = command_path(app);
    const std::string help = " (see " + path + " --help)";
    std::smatch m;
    static const std::regex at_most(R"(^(.+): At Most (\d+) required but received (\d+)$)");
    static const std::regex at_least(R"(^(.+): At least (\d+) required but received (\d+)$)");
    static const std::regex missing_value(R"(^(-.*): (\d+) required \S+ missing$)");
    static const std::regex required(R"(^(.+) is required$)");
    static const std::regex unexpected(
        R"(^The following arguments? (?:was|were) not expected: (.+)$)");
    if (what == "A subcommand is required") {
        std::string commands;
        for (const CLI::App* c : deepest(app).get_subcommands({})) {
            commands += (commands.empty() ? "" : ", ") + c->get_name();
        }
        return fmt::format("{} needs a command: {}{}", path, commands, help);
    }
    if (std::regex_match(what, m, at_most)) {
        return fmt::format("{} is given {}; give it {}{}", m[1].str(), times(m[3]),
                           m[2] == "1" ? "once" : "at most " + times(m[2]), help);
    }
    if (std::regex_match(what, m, at_least)) {
        return fmt::format("{} needs at least {} values, not {}{}", m[1].str(), m[2].str(),
                           m[3].str(), help);
    }
    if (std::regex_match(what, m, missing_value)) {
        return fmt::format("{} needs a value{}", m[1].str(), help);
    }
    if (std::regex_match(what, m, required)) {
        const std::string name = m[1];
        if (name.rfind("-", 0) == 0) {
            return fmt::format("{} needs {}{}", path, name, help);
        }
        return fmt::format("{} needs its {} argument{}", path, upper(name), help);
    }
    if (std::regex_match(what, m, unexpected)) {
        const std::string args = m[1];
        const bool option = args.rfind("-", 0) == 0;
        return fmt::format("{} {} for {}{}", option ? "unknown option" : "unexpected argument",
                           args, path, help);
    }
    // CLI11's other messages, and the option checks of our own validators,
    // which already read as ours.
    return what + help;
}

} // namespace tlsheap::cli
