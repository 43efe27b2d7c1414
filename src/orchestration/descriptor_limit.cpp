#include "descriptor_limit.h"

#include "tlsheap/user_error.h"

#include <fmt/format.h>
#include <sys/resource.h>

namespace tlsheap::record {

namespace {

// What the recorder and the mbedTLS peer hold besides the connections'
// sockets: standard streams, the trace, the listener, /proc reads while
// symbolizing, the dynamic loader's libraries, with room to spare.
constexpr unsigned long long kDescriptorsBesideConnections = 32;

} // namespace

void check_descriptor_limit(unsigned connections) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
        return;
    }
    const unsigned long long needed = connections + kDescriptorsBesideConnections;
    if (needed > limit.rlim_cur) {
        throw UserError(fmt::format("{} concurrent connections need about {} open files in the "
                                    "recorder and in the peer, but this process may open {} "
                                    "(RLIMIT_NOFILE; raise it with ulimit -n {})",
                                    connections, needed,
                                    static_cast<unsigned long long>(limit.rlim_cur), needed),
                        kExitBadInput);
    }
}

} // namespace tlsheap::record
