// libFuzzer harness: bytes as a scenario file (scenarios/*.json), loaded the
// way `profile --scenario FILE` loads one and translated into both sides'
// recorder command lines. The file sits in a scratch directory whose pki/
// links to the committed scenarios' credentials, so that valid documents get
// past their file checks. Rejected input must be a ScenarioError; whatever
// tlsheap makes of an accepted scenario, the recorder's parser must accept.
#include "orchestration/recorder_arguments.h"
#include "orchestration/scenario.h"
#include "recorder_options.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace tlsheap;

// The scratch directory, removed at exit.
struct ScratchDir {
    fs::path path;
    ScratchDir() {
        std::string name = (fs::temp_directory_path() / "tlsheap-fuzz-scenario-XXXXXX").string();
        if (::mkdtemp(name.data()) == nullptr) {
            std::perror("mkdtemp");
            std::abort();
        }
        path = name;
        fs::create_directory_symlink(fs::path(TLSHEAP_SOURCE_DIR) / "scenarios" / "pki",
                                     path / "pki");
    }
    ~ScratchDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

void check_recorder_accepts(const record::Scenario& scenario, record::Side side) {
    std::vector<std::string> args = record::recorder_arguments(scenario, side, false);
    // What recording_run.cpp puts before them.
    if (side == record::Side::Client)
        args.insert(args.begin(), {"--mode", "client", "--connect", "127.0.0.1:4433"});
    else
        args.insert(args.begin(), {"--mode", "server", "--listen", "127.0.0.1:0"});
    args.insert(args.begin(), "tlsheap-recorder");
    std::vector<char*> argv;
    for (std::string& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    recorder::RecorderOptions options;
    std::string error;
    if (!recorder::parse_recorder_options(static_cast<int>(args.size()), argv.data(), options,
                                          error)) {
        std::fprintf(stderr, "the recorder refuses what tlsheap made of the scenario: %s\n",
                     error.c_str());
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const ScratchDir dir;
    const fs::path file = dir.path / "fuzz.json";
    std::ofstream(file, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    try {
        const record::Scenario scenario = record::load_scenario(file.string(), dir.path);
        check_recorder_accepts(scenario, record::Side::Client);
        check_recorder_accepts(scenario, record::Side::Server);
    } catch (const record::ScenarioError&) {
    }
    return 0;
}
