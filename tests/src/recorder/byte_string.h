// A byte string written as a list of byte values, for tests that compare
// encoded packets with the bytes a specification lays out.
#pragma once

#include <initializer_list>
#include <string>

namespace tlsheap::recorder {

inline std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) {
        out += static_cast<char>(v);
    }
    return out;
}

} // namespace tlsheap::recorder
