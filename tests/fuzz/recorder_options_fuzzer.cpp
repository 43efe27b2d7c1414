// libFuzzer harness: the recorder's command line (src/recorder/
// recorder_options.cpp, compiled into every mbedTLS variant's recorder; it
// includes no mbedTLS header, so it is fuzzed on its own). Input: the
// arguments separated by NUL bytes. The parser must return true or false with
// an error, never crash.
#include "recorder_options.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> args{"tlsheap-recorder"};
    std::string current;
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] == 0) {
            args.push_back(current);
            current.clear();
        } else {
            current.push_back(static_cast<char>(data[i]));
        }
    }
    if (!current.empty())
        args.push_back(current);
    std::vector<char*> argv;
    for (std::string& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    tlsheap::recorder::RecorderOptions options;
    std::string error;
    if (!tlsheap::recorder::parse_recorder_options(static_cast<int>(args.size()), argv.data(),
                                                   options, error) &&
        error.empty()) {
        std::fprintf(stderr, "refused without an error\n");
        std::abort();
    }
    return 0;
}
