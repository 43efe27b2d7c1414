// Concurrent connections cost file descriptors: one socket each in the
// recorder and one in the peer, which inherit tlsheap's limit. Checked before
// anything starts, so that a limit too low for --connections is named instead
// of surfacing as a failed socket() halfway through a recording.
#pragma once

namespace tlsheap::record {

// Throws UserError (exit 2) naming RLIMIT_NOFILE when `connections` sockets
// plus what each process keeps open anyway do not fit under the soft limit.
void check_descriptor_limit(unsigned connections);

} // namespace tlsheap::record
