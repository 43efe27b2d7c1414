#include "variants/program_version.h"

#include "process/child_process.h"
#include "variants/cache_file.h"
#include "variants/content_hash.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <string_view>
#include <unistd.h>

namespace tlsheap::build {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxVersionLine = 4096;

// Where exec would find `program`: as given when it names a directory, else
// the first executable of that name on PATH; the result with every symlink
// resolved (gcc -> gcc-12 -> x86_64-linux-gnu-gcc-12).
std::optional<fs::path> resolve_program(const std::string& program) {
    std::error_code ec;
    auto executable = [&](const fs::path& p) {
        return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
    };
    std::optional<fs::path> found;
    if (program.find('/') != std::string::npos) {
        if (executable(program)) {
            found = program;
        }
    } else if (const char* path = std::getenv("PATH"); path != nullptr) {
        std::string_view dirs = path;
        while (!found) {
            const auto colon = dirs.find(':');
            const std::string_view dir = dirs.substr(0, colon);
            const fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / program;
            if (executable(candidate)) {
                found = candidate;
            }
            if (colon == std::string_view::npos) {
                break;
            }
            dirs.remove_prefix(colon + 1);
        }
    }
    if (!found) {
        return std::nullopt;
    }
    fs::path resolved = fs::canonical(*found, ec);
    return ec ? std::nullopt : std::optional<fs::path>(resolved);
}

std::optional<std::string> ask_version(const std::string& program) {
    try {
        const auto r = process::run_command({program, "--version"}, std::chrono::seconds(20));
        if (r.status != 0) {
            return std::nullopt;
        }
        return r.out.substr(0, r.out.find('\n'));
    } catch (const process::ProcessError&) {
        return std::nullopt;
    }
}

bool is_version_line(const std::string& text) {
    return !text.empty() && text.find('\n') == std::string::npos &&
           text.find('\0') == std::string::npos;
}

} // namespace

std::optional<fs::path> program_version_cache_file(const std::string& program,
                                                   const fs::path& cache_dir) {
    const std::optional<fs::path> resolved = resolve_program(program);
    if (!resolved) {
        return std::nullopt;
    }
    std::error_code ec;
    const auto size = fs::file_size(*resolved, ec);
    const auto mtime = fs::last_write_time(*resolved, ec);
    if (ec) {
        return std::nullopt;
    }
    ContentHash key;
    // The name too: a multi-call binary answers by the name it was started as.
    key.add("tlsheap-program-version-v1")
        .add(program)
        .add("--version")
        .add(resolved->string())
        .add(std::to_string(size))
        .add(std::to_string(
            std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch())
                .count()));
    return cache_dir / "programs" / (key.hex() + ".version");
}

std::optional<std::string> program_version_line(const std::string& program,
                                                const fs::path& cache_dir) {
    const std::optional<fs::path> cached =
        cache_dir.empty() ? std::nullopt : program_version_cache_file(program, cache_dir);
    // Per process too, under the same key: a program changed meanwhile is asked again.
    static std::map<std::string, std::optional<std::string>> memo;
    const std::string memo_key = cached ? cached->string() : program;
    if (const auto known = memo.find(memo_key); known != memo.end()) {
        return known->second;
    }
    std::optional<std::string> line;
    if (cached) {
        if (auto text = read_cache_file(*cached, kMaxVersionLine); text && is_version_line(*text)) {
            line = std::move(text);
        }
    }
    if (!line) {
        line = ask_version(program);
        // An empty first line is a valid answer but not one a file can tell from corruption.
        if (cached && line && is_version_line(*line)) {
            write_cache_file(*cached, *line);
        }
    }
    memo[memo_key] = line;
    return line;
}

} // namespace tlsheap::build
