#include "tlsheap_harness.h"

#include "process/child_process.h"
#include "variants/cache_directory.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace tlsheap::testing {

namespace fs = std::filesystem;

std::vector<std::string> RunResult::error_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(err);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("tlsheap: ", 0) == 0 && line.rfind("tlsheap: error:", 0) != 0) {
            continue; // progress
        }
        lines.push_back(line);
    }
    return lines;
}

namespace {

void link_mbedtls_sources(const fs::path& cache) {
    fs::create_directories(cache);
    const fs::path link = cache / "mbedtls";
    if (fs::exists(link)) {
        return;
    }
    // The user's cache as the environment says, before the tests change it.
    const char* env = std::getenv("TLSHEAP_CACHE_DIR");
    std::string saved = env ? env : "";
    ::unsetenv("TLSHEAP_CACHE_DIR");
    const fs::path sources = build::default_cache_directory() / "mbedtls";
    if (!saved.empty()) {
        ::setenv("TLSHEAP_CACHE_DIR", saved.c_str(), 1);
    }
    std::error_code ec;
    fs::create_directory_symlink(sources, link, ec);
}

} // namespace

fs::path test_cache() {
    static const fs::path cache = [] {
        const fs::path dir = fs::path(TLSHEAP_TEST_CACHE);
        link_mbedtls_sources(dir);
        return dir;
    }();
    return cache;
}

fs::path fresh_cache(const std::string& name) {
    const fs::path dir = fs::path(TLSHEAP_TEST_CACHE).parent_path() /
                         ("test-cache-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    link_mbedtls_sources(dir);
    return dir;
}

RunResult run_tlsheap(const std::vector<std::string>& args, const fs::path& cache,
                      int timeout_seconds) {
    return run_tlsheap_with_env(args, {}, cache, timeout_seconds);
}

RunResult run_tlsheap_with_env(const std::vector<std::string>& args,
                               const std::vector<std::pair<std::string, std::string>>& env,
                               const fs::path& cache, int timeout_seconds) {
    std::vector<std::string> argv = {TLSHEAP_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::pair<std::string, std::string>> environment = {
        {"TLSHEAP_CACHE_DIR", cache.string()}};
    environment.insert(environment.end(), env.begin(), env.end());
    const auto r =
        process::run_command(argv, std::chrono::seconds(timeout_seconds), {}, environment);
    RunResult result;
    result.status = r.timed_out ? -1 : r.status;
    result.out = r.out;
    result.err = r.err;
    return result;
}

nlohmann::json read_json(const fs::path& file) {
    std::ifstream in(file);
    return nlohmann::json::parse(in);
}

nlohmann::json model_of(const nlohmann::json& report, const std::string& name) {
    for (const nlohmann::json& m : report["models"]) {
        if (m["name"] == name) {
            return m;
        }
    }
    return nullptr;
}

void expect_every_block_where_the_real_pool_put_it(const nlohmann::json& report) {
    const nlohmann::json pool = model_of(report, "mbedtls-pool");
    ASSERT_FALSE(pool.is_null());
    const nlohmann::json& cmp = pool["real_pool_comparison"];
    ASSERT_FALSE(cmp.is_null());
    EXPECT_EQ(cmp["mismatches"], 0) << cmp["first_mismatch"];
    EXPECT_EQ(cmp["matches"].get<std::uint64_t>(),
              report["summary"]["allocations"].get<std::uint64_t>() -
                  report["summary"]["zero_size_allocations"].get<std::uint64_t>());
}

void expect_one_line_error(const RunResult& r, int status, const std::string& what) {
    EXPECT_EQ(r.status, status) << r.err;
    const auto lines = r.error_lines();
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines.front().rfind("tlsheap: error: ", 0), 0u) << lines.front();
    EXPECT_NE(lines.front().find(what), std::string::npos) << lines.front();
}

void expect_one_line_error(const RunResult& r, const std::string& what) {
    expect_one_line_error(r, 2, what);
}

fs::path default_config_with(const fs::path& file, const std::string& lines) {
    fs::copy_file(test_cache() / "mbedtls" / "3.6" / "include" / "mbedtls" / "mbedtls_config.h",
                  file);
    std::ofstream(file, std::ios::app) << lines;
    return file;
}

fs::path scratch_dir(const std::string& name) {
    const fs::path dir = test_cache() / "scratch" / (name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

namespace {

// A process may exit between open and read; libstdc++'s filebuf then throws
// from underflow (ESRCH), so /proc files are read with read(2) and a process
// that is gone reads as empty.
std::string read_proc_file(const std::string& pid, const char* name) {
    const int fd = ::open(("/proc/" + pid + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return {};
    }
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n < 0) {
                text.clear();
            }
            break;
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return text;
}

std::string read_cmdline(const std::string& pid) {
    std::string cmdline = read_proc_file(pid, "cmdline");
    for (char& c : cmdline) {
        c = c == '\0' ? ' ' : c;
    }
    return cmdline;
}

std::string parent_of(const std::string& pid) {
    const std::string stat = read_proc_file(pid, "stat");
    // "pid (comm) state ppid ...": comm may hold spaces, so start after the last ')'.
    const auto close = stat.rfind(')');
    std::istringstream rest(close == std::string::npos ? "" : stat.substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    return ppid;
}

} // namespace

std::vector<std::string> orphaned_processes(const std::string& needle) {
    std::vector<std::string> found;
    const std::string self = std::to_string(::getpid());
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string pid = entry.path().filename().string();
        if (pid.find_first_not_of("0123456789") != std::string::npos || pid == self) {
            continue;
        }
        const std::string cmdline = read_cmdline(pid);
        if (cmdline.find(needle) == std::string::npos) {
            continue;
        }
        // Owned while any ancestor is a tlsheap run or a test program (this
        // one or one running in parallel); an orphan has been reparented to init.
        bool owned = false;
        std::string parent = parent_of(pid);
        for (int depth = 0;
             depth < 32 && !owned && !parent.empty() && parent != "0" && parent != "1"; ++depth) {
            const std::string ancestor = read_cmdline(parent);
            owned = parent == self || ancestor.find(TLSHEAP_BINARY) != std::string::npos ||
                    ancestor.find("_integration_tests") != std::string::npos;
            parent = parent_of(parent);
        }
        if (!owned) {
            found.push_back(pid + ": " + cmdline);
        }
    }
    return found;
}

SilentListener::SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd_, 4) != 0) {
        throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
}

SilentListener::~SilentListener() {
    ::close(fd_);
}

void expect_nothing_left_running() {
    // The servers by the command lines tlsheap starts them with (a compiler
    // building nginx_config.cpp is not nginx, nor one building
    // gnutls_server.cpp openssl's s_server).
    const std::vector<std::string> needles = {test_cache().string() + "/builds",
                                              "openssl s_server",
                                              "gnutls-serv --port",
                                              "nginx -c ",
                                              "mosquitto -c ",
                                              "coap-server-gnutls -A "};
    for (const std::string& needle : needles) {
        std::vector<std::string> left = orphaned_processes(needle);
        if (!left.empty()) {
            // A child of a tlsheap run of a parallel test that just ended is
            // reparented for the instant before PR_SET_PDEATHSIG kills it:
            // what is left over is what is still there half a second later.
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            const std::vector<std::string> again = orphaned_processes(needle);
            std::vector<std::string> still;
            for (const std::string& p : again) {
                if (std::find(left.begin(), left.end(), p) != left.end()) {
                    still.push_back(p);
                }
            }
            left = still;
        }
        EXPECT_TRUE(left.empty()) << "left running: " << left.front();
    }
}

} // namespace tlsheap::testing
