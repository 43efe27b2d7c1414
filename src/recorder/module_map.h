#pragma once

namespace tlsheap::recorder {

class Recording;

// Writes one Module record per loaded ELF object (the recorder itself, libc,
// ...): its address range, load bias, path and GNU build-id, which is all the
// host needs to symbolize the raw return addresses later.
void record_module_map(Recording& recording);

} // namespace tlsheap::recorder
