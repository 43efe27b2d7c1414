#pragma once

#include <string>

namespace tlsheap::cli {

// What `tlsheap --version` prints: the program, its version and commit on the
// first line (as help2man and scripts expect), then where its data files and
// cache are and which mbedTLS trees it can build.
std::string version_text();

} // namespace tlsheap::cli
