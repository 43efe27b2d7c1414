// The recorder's option parser fed a list of words, as main() would be.
#pragma once

#include "recorder_options.h"

#include <string>
#include <vector>

namespace tlsheap::recorder {

inline bool parse(std::vector<std::string> args, RecorderOptions& o, std::string& error) {
    args.insert(args.begin(), "tlsheap-recorder");
    std::vector<char*> argv;
    for (std::string& a : args) {
        argv.push_back(a.data());
    }
    return parse_recorder_options(static_cast<int>(argv.size()), argv.data(), o, error);
}

} // namespace tlsheap::recorder
