// Runs the real tlsheap binary the way a user does, in a test cache of its
// own (the mbedTLS sources are shared with the user's cache), and checks
// afterwards that nothing it started is still running.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace tlsheap::testing {

struct RunResult {
    int status = -1;
    std::string out;
    std::string err;
    // stderr without progress lines: what the user sees as the error.
    std::vector<std::string> error_lines() const;
};

// The shared test cache: <build>/test-cache, with mbedtls/ linked to the
// user's fetched trees.
std::filesystem::path test_cache();
// A fresh, private cache (for tests that must see a first build).
std::filesystem::path fresh_cache(const std::string& name);

RunResult run_tlsheap(const std::vector<std::string>& args,
                      const std::filesystem::path& cache = test_cache(), int timeout_seconds = 600);

// run_tlsheap with more environment variables (TLSHEAP_LOCK_TIMEOUT, ...).
RunResult run_tlsheap_with_env(const std::vector<std::string>& args,
                               const std::vector<std::pair<std::string, std::string>>& env,
                               const std::filesystem::path& cache = test_cache(),
                               int timeout_seconds = 600);

nlohmann::json read_json(const std::filesystem::path& file);

// A profile document's model entry of that name (null when absent).
nlohmann::json model_of(const nlohmann::json& report, const std::string& name);
// The mbedtls-pool model of a trace recorded on the real memory_buffer_alloc
// put every block where the real allocator did.
void expect_every_block_where_the_real_pool_put_it(const nlohmann::json& report);

// The run failed with `status` and one line on stderr, "tlsheap: error: ..."
// naming `what`.
void expect_one_line_error(const RunResult& r, int status, const std::string& what);
// The same for unusable input (exit 2).
void expect_one_line_error(const RunResult& r, const std::string& what);

// A user's config: mbedTLS 3.6's default config copied to `file`, with
// `lines` appended.
std::filesystem::path default_config_with(const std::filesystem::path& file,
                                          const std::string& lines);

// A directory under the test cache, emptied.
std::filesystem::path scratch_dir(const std::string& name);

// Processes whose command line mentions `needle` and that no tlsheap run
// (nor this test) owns any more: what a run left behind. Processes of other
// tests running in parallel still have their tlsheap as parent.
std::vector<std::string> orphaned_processes(const std::string& needle);
// Fails the current test when a variant's program or a server (s_server,
// gnutls-serv, nginx, mosquitto, coap-server) that a tlsheap run started is still running
// (for a fixture's TearDown).
void expect_nothing_left_running();

// A TCP socket listening on 127.0.0.1 that never accepts or answers.
class SilentListener {
  public:
    SilentListener();
    ~SilentListener();
    SilentListener(const SilentListener&) = delete;
    SilentListener& operator=(const SilentListener&) = delete;
    unsigned port() const { return port_; }

  private:
    int fd_ = -1;
    unsigned port_ = 0;
};

} // namespace tlsheap::testing
