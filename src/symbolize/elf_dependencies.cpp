#include "symbolize/elf_dependencies.h"

#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

namespace tlsheap::symbolize {

std::vector<std::string> needed_libraries(const std::filesystem::path& path) {
    std::vector<std::string> needed;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return needed;
    }
    elf_version(EV_CURRENT);
    Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
    for (Elf_Scn* scn = elf != nullptr ? elf_nextscn(elf, nullptr) : nullptr; scn != nullptr;
         scn = elf_nextscn(elf, scn)) {
        GElf_Shdr header;
        if (gelf_getshdr(scn, &header) == nullptr || header.sh_type != SHT_DYNAMIC ||
            header.sh_entsize == 0) {
            continue;
        }
        Elf_Data* data = elf_getdata(scn, nullptr);
        for (std::size_t i = 0; data != nullptr && i < header.sh_size / header.sh_entsize; ++i) {
            GElf_Dyn entry;
            if (gelf_getdyn(data, static_cast<int>(i), &entry) == nullptr) {
                break;
            }
            if (entry.d_tag == DT_NEEDED) {
                if (const char* name = elf_strptr(elf, header.sh_link, entry.d_un.d_val)) {
                    needed.emplace_back(name);
                }
            }
        }
    }
    if (elf != nullptr) {
        elf_end(elf);
    }
    ::close(fd);
    return needed;
}

} // namespace tlsheap::symbolize
