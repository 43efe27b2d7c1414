#pragma once

#include "variants/mbedtls_tree.h"

#include <set>
#include <string>

namespace tlsheap::build {

// Every MBEDTLS_* / PSA_* identifier the tree's headers and sources mention:
// a --set or --unset of a name outside it is a typo, not an option.
std::set<std::string> macro_names_in_tree(const MbedtlsTree& tree);

} // namespace tlsheap::build
