#include "module_map.h"

#include "recording.h"

#include <climits>
#include <cstdint>
#include <cstring>
#include <elf.h>
#include <link.h>
#include <string>
#include <unistd.h>

namespace tlsheap::recorder {

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

std::string build_id_of(const dl_phdr_info* info) {
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_NOTE) {
            continue;
        }
        const auto* p = reinterpret_cast<const unsigned char*>(info->dlpi_addr + ph.p_vaddr);
        const unsigned char* end = p + ph.p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            ElfW(Nhdr) note;
            std::memcpy(&note, p, sizeof(note));
            const unsigned char* name = p + sizeof(note);
            const unsigned char* desc = name + ((note.n_namesz + 3) & ~3u);
            if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 &&
                std::memcmp(name, "GNU", 4) == 0 && desc + note.n_descsz <= end) {
                return hex(desc, note.n_descsz);
            }
            p = desc + ((note.n_descsz + 3) & ~3u);
        }
    }
    return {};
}

int visit(dl_phdr_info* info, std::size_t, void* data) {
    auto* recording = static_cast<Recording*>(data);
    std::string path = info->dlpi_name ? info->dlpi_name : "";
    if (path.empty()) {
        // The main program reports no name.
        char self[PATH_MAX];
        const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0) {
            return 0;
        }
        path.assign(self, static_cast<std::size_t>(n));
    }
    if (path.find("linux-vdso") != std::string::npos ||
        path.find("linux-gate") != std::string::npos) {
        return 0; // no file on disk to symbolize from
    }
    std::uint64_t lo = UINT64_MAX;
    std::uint64_t hi = 0;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type == PT_LOAD) {
            const std::uint64_t start = info->dlpi_addr + ph.p_vaddr;
            lo = start < lo ? start : lo;
            hi = start + ph.p_memsz > hi ? start + ph.p_memsz : hi;
        }
    }
    if (lo < hi) {
        recording->module(lo, hi, info->dlpi_addr, path, build_id_of(info));
    }
    return 0;
}

} // namespace

void record_module_map(Recording& recording) {
    dl_iterate_phdr(visit, &recording);
}

} // namespace tlsheap::recorder
