// tlsheap installed the way a user installs it: `cmake --install` into a
// prefix and the Debian package from `cpack -G DEB` unpacked into a scratch
// root. Either copy runs away from the source tree: it finds its recorder
// sources and scenarios under share/tlsheap next to the executable, compiles
// a recorder from them and profiles; --version, the man page and the bash
// completion say what they should.
#include "process/child_process.h"
#include "tlsheap_harness.h"
#include "variants/variant_builder.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <sstream>

namespace tlsheap::testing {
namespace {

namespace fs = std::filesystem;

process::CommandResult run(const std::vector<std::string>& argv,
                           const std::vector<std::pair<std::string, std::string>>& env = {}) {
    return process::run_command(argv, std::chrono::minutes(10), {}, env);
}

std::string first_line(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

std::set<std::string> scenario_names(const std::string& listing) {
    std::set<std::string> names;
    std::istringstream in(listing);
    for (std::string line; std::getline(in, line);) {
        names.insert(line.substr(0, line.find(' ')));
    }
    return names;
}

std::set<std::string> committed_scenarios() {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(fs::path(TLSHEAP_SOURCE_DIR) / "scenarios")) {
        if (e.path().extension() == ".json") {
            names.insert(e.path().stem().string());
        }
    }
    return names;
}

std::string commit_of_checkout() {
    const auto r = run({"git", "-C", TLSHEAP_SOURCE_DIR, "rev-parse", "--short=12", "HEAD"});
    return r.status == 0 ? first_line(r.out) : "unknown";
}

// What a copy of tlsheap installed at `root` (bin/tlsheap, share/...)
// must show of itself, without building anything.
void expect_installed_tool(const fs::path& root) {
    const std::string tlsheap = (root / "bin" / "tlsheap").string();
    const fs::path share = root / "share" / "tlsheap";
    for (const char* header : build::kRecorderSharedHeaders) {
        EXPECT_TRUE(fs::is_regular_file(share / "include" / "tlsheap" / header)) << header;
    }
    EXPECT_TRUE(fs::is_regular_file(share / "recorder" / "recorder_main.cpp"));
    EXPECT_FALSE(fs::exists(share / "recorder" / "CMakeLists.txt"));
    EXPECT_TRUE(fs::is_regular_file(share / "scenarios" / "pki" / "rsa-chain" / "root.crt.pem"));
    EXPECT_TRUE(fs::is_regular_file(share / "json-schema" / "profile.schema.json"));
    const fs::perms exec = fs::perms::owner_exec;
    EXPECT_NE(fs::status(share / "fetch-mbedtls.sh").permissions() & exec, fs::perms::none);

    const auto version =
        run({tlsheap, "--version"}, {{"TLSHEAP_CACHE_DIR", test_cache().string()}});
    ASSERT_EQ(version.status, 0) << version.err;
    EXPECT_EQ(first_line(version.out), "tlsheap 0.1.0 (commit " + commit_of_checkout() + ")");
    EXPECT_NE(version.out.find("\ndata files: installed in " + share.string() + "\n"),
              std::string::npos)
        << version.out;
    EXPECT_NE(version.out.find("\nmbedTLS 3.6: 3.6."), std::string::npos) << version.out;

    const auto scenarios = run({tlsheap, "scenarios"});
    ASSERT_EQ(scenarios.status, 0) << scenarios.err;
    EXPECT_EQ(scenario_names(scenarios.out), committed_scenarios());

    // The completion asks the installed program for its commands, options
    // and scenarios.
    const fs::path completion = root / "share" / "bash-completion" / "completions" / "tlsheap";
    ASSERT_TRUE(fs::is_regular_file(completion));
    const std::string script =
        "source '" + completion.string() +
        "'; t() { COMP_WORDS=(\"$@\"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _tlsheap; "
        "echo \"${COMPREPLY[*]}\"; }; "
        "t '" +
        tlsheap + "' pro; t '" + tlsheap + "' trace ''; t '" + tlsheap + "' profile --reco; t '" +
        tlsheap + "' profile --scenario tls13-e";
    const auto completed = run({"bash", "-c", script});
    ASSERT_EQ(completed.status, 0) << completed.err;
    EXPECT_EQ(completed.out, "profile\nshow export\n--reconnects\ntls13-ecdsa-p256\n");

#if TLSHEAP_MAN_PAGE
    const fs::path man = root / "share" / "man" / "man1" / "tlsheap.1.gz";
    const auto page = run({"gzip", "-dc", man.string()});
    ASSERT_EQ(page.status, 0) << man;
    EXPECT_NE(page.out.find(".TH TLSHEAP \"1\""), std::string::npos) << first_line(page.out);
    // Every command's options, not only the top-level --help.
    for (const char* text : {".SH COMMANDS", ".SS profile", ".SS trace show", "\\-\\-reconnects",
                             "TLSHEAP_CACHE_DIR"}) {
        EXPECT_NE(page.out.find(text), std::string::npos) << text;
    }
    EXPECT_EQ(page.out.find(TLSHEAP_SOURCE_DIR), std::string::npos)
        << "the man page names the build machine's checkout";
#else
    if (std::getenv("TLSHEAP_REQUIRE_ALL_TESTS") != nullptr) {
        ADD_FAILURE() << "no man page: help2man was not found (scripts/setup.sh installs it)";
    }
#endif
}

TEST(Installation, CmakeInstallGivesAToolThatBuildsItsRecorderFromTheInstalledSources) {
    const fs::path prefix = scratch_dir("install-prefix") / "usr";
    const auto installed =
        run({CMAKE_COMMAND, "--install", TLSHEAP_BUILD_DIR, "--prefix", prefix.string()});
    ASSERT_EQ(installed.status, 0) << installed.out << installed.err;
    expect_installed_tool(prefix);

    // A cache with the test cache's mbedTLS trees and compiled libraries but
    // no recorder: the installed tool compiles its recorder (and the peer's)
    // from share/tlsheap, and measures what the checkout's build measures.
    const fs::path cache = fresh_cache("installed");
    fs::create_directories(cache / "builds");
    for (const auto& e : fs::directory_iterator(test_cache() / "builds")) {
        const std::string name = e.path().filename().string();
        if (name.rfind("lib-", 0) == 0 && e.is_directory()) {
            fs::create_directory_symlink(e.path(), cache / "builds" / name);
        }
    }
    const fs::path dir = scratch_dir("install-profile");
    const std::vector<std::string> args = {"profile", "--scenario", "tls12-psk-aes128-ccm"};
    std::vector<std::string> argv = {(prefix / "bin" / "tlsheap").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--json", (dir / "installed.json").string()});
    const auto profiled = run(argv, {{"TLSHEAP_CACHE_DIR", cache.string()}});
    ASSERT_EQ(profiled.status, 0) << profiled.err;
    EXPECT_NE(profiled.err.find("building the recorder"), std::string::npos) << profiled.err;
    EXPECT_EQ(profiled.err.find("building mbedTLS"), std::string::npos) << profiled.err;

    std::vector<std::string> again = args;
    again.insert(again.end(), {"--json", (dir / "checkout.json").string()});
    const RunResult checkout = run_tlsheap(again);
    ASSERT_EQ(checkout.status, 0) << checkout.err;
    const nlohmann::json a = read_json(dir / "installed.json");
    const nlohmann::json b = read_json(dir / "checkout.json");
    // Same sources, same key: the recorder the installation compiled is the
    // checkout's, in another cache.
    EXPECT_EQ(fs::path(a["variant"]["recorder"].get<std::string>()).parent_path().filename(),
              fs::path(b["variant"]["recorder"].get<std::string>()).parent_path().filename());
    EXPECT_TRUE(a["variant"]["recorder"].get<std::string>().starts_with(cache.string()));
    EXPECT_EQ(a["live_peak"]["bytes"], b["live_peak"]["bytes"]);
    EXPECT_EQ(a["live_peak"]["at"]["seq"], b["live_peak"]["at"]["seq"]);
    fs::remove_all(cache);
}

TEST(Installation, DebianPackageUnpackedIntoAScratchRootRuns) {
    const fs::path dir = scratch_dir("install-deb");
    const auto packed = run({CMAKE_CPACK_COMMAND, "-G", "DEB", "--config",
                             std::string(TLSHEAP_BUILD_DIR) + "/CPackConfig.cmake", "-B",
                             (dir / "package").string()});
    ASSERT_EQ(packed.status, 0) << packed.out << packed.err;
    std::vector<fs::path> debs;
    for (const auto& e : fs::directory_iterator(dir / "package")) {
        if (e.path().extension() == ".deb") {
            debs.push_back(e.path());
        }
    }
    ASSERT_EQ(debs.size(), 1u) << packed.out;
    EXPECT_EQ(debs[0].filename().string().rfind("tlsheap_0.1.0_", 0), 0u) << debs[0];

    const auto fields = run({"dpkg-deb", "--field", debs[0].string(), "Package", "Depends"});
    ASSERT_EQ(fields.status, 0) << fields.err;
    EXPECT_NE(fields.out.find("Package: tlsheap\n"), std::string::npos) << fields.out;
    // What tlsheap runs (compiler, peer, fetch) and the libraries it links,
    // the latter found by dpkg-shlibdeps.
    for (const char* dependency : {"g++", "openssl", "dpkg-dev", "libdw1", "libfmt"}) {
        EXPECT_NE(fields.out.find(dependency), std::string::npos) << fields.out;
    }

    const fs::path root = dir / "root";
    const auto unpacked = run({"dpkg-deb", "--extract", debs[0].string(), root.string()});
    ASSERT_EQ(unpacked.status, 0) << unpacked.err;
    expect_installed_tool(root / "usr");
}

} // namespace
} // namespace tlsheap::testing
