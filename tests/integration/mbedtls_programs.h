// mbedTLS's own sample programs (ssl_server2, ssl_client2, mini_client)
// built from the fetched 3.6 tree against a variant `tlsheap build --export`
// wrote, and run on 127.0.0.1: what the tests of a user's program and of
// `--connect` talk to.
#pragma once

#include "process/child_process.h"
#include "tlsheap_harness.h"

#include <arpa/inet.h>
#include <chrono>
#include <filesystem>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace tlsheap::testing {

inline std::filesystem::path mbedtls_tree() {
    return test_cache() / "mbedtls" / "3.6";
}

// A port nothing listens on now.
inline unsigned free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// ssl_server2 prints "Waiting for a remote connection ..." without a newline.
inline bool wait_until_listening(process::ChildProcess& server) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < give_up && server.running()) {
        server.wait_for_line([](const std::string&) { return false; },
                             std::chrono::milliseconds(100));
        if (server.stdout_text().find("Waiting for a remote connection") != std::string::npos) {
            return true;
        }
    }
    return false;
}

// A variant exported into dir/name.
inline void export_variant(const std::filesystem::path& dir, const std::string& name,
                           const std::vector<std::string>& options) {
    std::vector<std::string> args = {"build", "--export", (dir / name).string(), "-q"};
    args.insert(args.end(), options.begin(), options.end());
    const RunResult r = run_tlsheap(args);
    ASSERT_EQ(r.status, 0) << r.err;
}

// `command` run by sh in `dir`, pkg-config finding the export dir/package.
inline process::CommandResult with_package(const std::string& command,
                                           const std::filesystem::path& dir,
                                           const std::string& package) {
    return process::run_command(
        {"sh", "-c", command}, std::chrono::minutes(5), dir.string(),
        {{"PKG_CONFIG_PATH", (dir / package / "lib" / "pkgconfig").string()}});
}

// programs/ssl/PROGRAM.c (ssl_server2 or ssl_client2) with the test helpers
// it links, built into dir/PROGRAM against the export dir/package.
inline void build_ssl_test_program(const std::filesystem::path& dir, const std::string& package,
                                   const std::string& program) {
    const std::string t = mbedtls_tree().string();
    const std::string helpers =
        "-I" + t + "/tests/include -I" + t + "/framework/tests/include -I" + t + "/library -I" + t +
        "/framework/tests/programs " + t + "/programs/ssl/ssl_test_lib.c " + t +
        "/programs/test/query_config.c " + t + "/framework/tests/src/*.c " + t + "/tests/src/*.c";
    const auto b = with_package("gcc -g -O1 $(pkg-config --cflags tlsheap-mbedtls) " + t +
                                    "/programs/ssl/" + program + ".c " + helpers + " -o " +
                                    program + " $(pkg-config --libs tlsheap-mbedtls)",
                                dir, package);
    ASSERT_EQ(b.status, 0) << b.err;
}

} // namespace tlsheap::testing
