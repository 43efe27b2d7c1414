// Running the symbolizer fixture (fixtures/call_sites.c) and reading its
// tagged source lines: shared by the DWARF symbolizer and trace symbolizer
// tests.
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace tlsheap::symbolize {

// The line of `source` tagged "@line:<tag>"; the tag must occur exactly once.
inline unsigned tagged_fixture_line(const std::string& source, const std::string& tag) {
    const std::string needle = "@line:" + tag;
    std::ifstream in(source);
    std::string text;
    unsigned number = 0;
    unsigned found = 0;
    int matches = 0;
    while (std::getline(in, text)) {
        ++number;
        auto pos = text.find(needle);
        // Whole tag only: "static_noinline" must not match "static_noinline_call".
        if (pos != std::string::npos &&
            (pos + needle.size() == text.size() || text[pos + needle.size()] == ' ')) {
            found = number;
            ++matches;
        }
    }
    EXPECT_EQ(matches, 1) << "tag " << needle << " in " << source;
    return found;
}

// What a run of the fixture prints: its module as the recorder would describe it, and
// return addresses captured inside the fixture's functions, by function name.
struct FixtureRun {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    std::uint64_t bias = 0;
    std::map<std::string, std::uint64_t> return_addresses;
};

// Runs the fixture; nullopt if it cannot be executed or prints no module line.
inline std::optional<FixtureRun> run_fixture(const std::string& path) {
    FILE* pipe = ::popen((path + " 2>/dev/null").c_str(), "r");
    if (pipe == nullptr)
        return std::nullopt;
    std::string output;
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr)
        output += buffer;
    int status = ::pclose(pipe);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return std::nullopt;

    FixtureRun run;
    bool have_module = false;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string key, a, b, c;
        fields >> key >> a;
        if (key == "module") {
            fields >> b >> c;
            run.start = std::stoull(a, nullptr, 16);
            run.end = std::stoull(b, nullptr, 16);
            run.bias = std::stoull(c, nullptr, 16);
            have_module = true;
        } else if (a.starts_with("0x")) {
            run.return_addresses[key] = std::stoull(a, nullptr, 16);
        }
    }
    if (!have_module)
        return std::nullopt;
    return run;
}

} // namespace tlsheap::symbolize
