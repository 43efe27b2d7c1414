#include "symbolize/dwarf_symbolizer.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gelf.h>
#include <unistd.h>
#include <unordered_map>

namespace tlsheap::symbolize {
namespace {

// Offline reporting: modules are placed where the trace says, nothing is read from a live
// process. Separate debug files are found the standard way (build-id, .gnu_debuglink).
const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = nullptr,
};

struct DwflDeleter {
    void operator()(Dwfl* dwfl) const { dwfl_end(dwfl); }
};

std::string demangle(const char* name) {
    if (std::strncmp(name, "_Z", 2) != 0)
        return name;
    int status = 0;
    std::unique_ptr<char, decltype(&std::free)> out(
        abi::__cxa_demangle(name, nullptr, nullptr, &status), &std::free);
    return status == 0 && out ? std::string(out.get()) : std::string(name);
}

std::string string_attr(Dwarf_Die* die, unsigned attr_name) {
    Dwarf_Attribute attr;
    const char* s = dwarf_formstring(dwarf_attr_integrate(die, attr_name, &attr));
    return s != nullptr ? s : "";
}

// The name of a subprogram or inlined subroutine. Inlined instances and out-of-line
// copies (.isra/.constprop clones) carry no name themselves; dwarf_attr_integrate follows
// DW_AT_abstract_origin / DW_AT_specification to the declaration that has it.
std::string function_name(Dwarf_Die* die) {
    for (unsigned attr_name : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
        std::string linkage = string_attr(die, attr_name);
        if (!linkage.empty())
            return demangle(linkage.c_str());
    }
    return string_attr(die, DW_AT_name);
}

// DWARF may record a path relative to the compilation directory (a build running
// "cc -c ssl_tls.c" in library/); make it absolute so reports are unambiguous.
std::string path_in_cu(const char* path, Dwarf_Die* cu) {
    if (path == nullptr)
        return "";
    if (path[0] == '/' || cu == nullptr)
        return path;
    Dwarf_Attribute attr;
    const char* comp_dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
    if (comp_dir == nullptr || comp_dir[0] == '\0')
        return path;
    std::string joined = comp_dir;
    if (joined.back() != '/')
        joined += '/';
    return joined + path;
}

// Where an inlined subroutine was called from: DW_AT_call_file / DW_AT_call_line.
void read_call_site(Dwarf_Die* inlined, SourceLocation& into) {
    Dwarf_Attribute attr;
    Dwarf_Word value = 0;
    if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &value) == 0)
        into.line = static_cast<unsigned>(value);
    if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &value) != 0)
        return;
    Dwarf_Die cu;
    Dwarf_Files* files = nullptr;
    size_t nfiles = 0;
    if (dwarf_diecu(inlined, &cu, nullptr, nullptr) == nullptr ||
        dwarf_getsrcfiles(&cu, &files, &nfiles) != 0 || value >= nfiles)
        return;
    into.file = path_in_cu(dwarf_filesrc(files, value, nullptr, nullptr), &cu);
}

// The function scopes (subprograms and inlined subroutines) of one compilation unit with
// their address ranges, built by one walk of the CU's DIE tree. dwarf_getscopes walks the
// tree again for every address, which costs ~200 us per address in mbedTLS's large CUs.
class FunctionScopeIndex {
  public:
    explicit FunctionScopeIndex(Dwarf_Die* cudie) { add_children(cudie, -1, 0); }

    // The function DIEs around pc, innermost first, ending with the out-of-line subprogram.
    std::vector<Dwarf_Die> scopes_at(Dwarf_Addr pc_in_cu) const {
        int innermost = -1;
        unsigned innermost_depth = 0;
        for (const PcRange& r : ranges_) {
            if (pc_in_cu >= r.low && pc_in_cu < r.high &&
                (innermost < 0 || nodes_[r.node].depth > innermost_depth)) {
                innermost = r.node;
                innermost_depth = nodes_[r.node].depth;
            }
        }
        std::vector<Dwarf_Die> functions;
        for (int n = innermost; n >= 0; n = nodes_[n].parent) {
            functions.push_back(nodes_[n].die);
            // A GNU C nested function is a child of its parent's DIE but not inlined into it.
            if (!nodes_[n].inlined)
                break;
        }
        return functions;
    }

  private:
    struct Node {
        Dwarf_Die die;
        int parent; // enclosing function node, -1 if none
        unsigned depth;
        bool inlined;
    };
    struct PcRange {
        Dwarf_Addr low;
        Dwarf_Addr high;
        int node;
    };

    void add_children(Dwarf_Die* parent_die, int parent_node, unsigned depth) {
        Dwarf_Die child;
        if (dwarf_child(parent_die, &child) != 0)
            return;
        do {
            switch (dwarf_tag(&child)) {
            case DW_TAG_subprogram:
            case DW_TAG_inlined_subroutine:
            case DW_TAG_entry_point:
                add_function(&child, parent_node, depth);
                break;
            // Scopes that can hold code-carrying functions without being functions.
            case DW_TAG_lexical_block:
            case DW_TAG_namespace:
                add_children(&child, parent_node, depth);
                break;
            case DW_TAG_imported_unit: {
                // dwz moves shared DIEs into partial units that CUs import.
                Dwarf_Attribute attr;
                Dwarf_Die unit;
                if (dwarf_formref_die(dwarf_attr(&child, DW_AT_import, &attr), &unit) != nullptr)
                    add_children(&unit, parent_node, depth);
                break;
            }
            default: // types, variables, parameters: no code inside
                break;
            }
        } while (dwarf_siblingof(&child, &child) == 0);
    }

    void add_function(Dwarf_Die* die, int parent_node, unsigned depth) {
        const int node = static_cast<int>(nodes_.size());
        const std::size_t first_range = ranges_.size();
        Dwarf_Addr base = 0, low = 0, high = 0;
        for (ptrdiff_t offset = 0; (offset = dwarf_ranges(die, offset, &base, &low, &high)) > 0;)
            ranges_.push_back({low, high, node});
        // Declarations and abstract definitions of inlined functions have no code, and
        // neither has anything nested in them.
        if (ranges_.size() == first_range)
            return;
        nodes_.push_back({*die, parent_node, depth, dwarf_tag(die) == DW_TAG_inlined_subroutine});
        add_children(die, node, depth + 1);
    }

    std::vector<Node> nodes_;
    std::vector<PcRange> ranges_;
};

class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }
    void release() { fd_ = -1; }

  private:
    int fd_;
};

GElf_Ehdr read_elf_header(const std::string& path, int fd) {
    Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
    GElf_Ehdr ehdr;
    bool ok = elf != nullptr && elf_kind(elf) == ELF_K_ELF && gelf_getehdr(elf, &ehdr) != nullptr;
    elf_end(elf);
    if (!ok)
        throw SymbolizeError(fmt::format("{}: not an ELF file", path));
    return ehdr;
}

struct Module {
    std::string path;
    std::uint64_t start;
    std::uint64_t end;
    std::uint64_t bias;
    // Thumb code addresses carry bit 0 (symbol values, LR); instructions are 2-aligned.
    bool clear_thumb_bit;
    // Reported to libdwfl at the first lookup that needs it; nullptr before, or if that failed.
    Dwfl_Module* dwfl_module = nullptr;
    bool reported = false;
    ModuleSymbols symbols = {};
    bool symbols_grew = false;
    // By CU DIE offset, built on the first lookup in each CU.
    std::unordered_map<Dwarf_Off, FunctionScopeIndex> scope_indexes = {};

    const FunctionScopeIndex& scope_index(Dwarf_Die* cudie) {
        auto it = scope_indexes.find(dwarf_dieoffset(cudie));
        if (it == scope_indexes.end())
            it = scope_indexes.emplace(dwarf_dieoffset(cudie), FunctionScopeIndex(cudie)).first;
        return it->second;
    }
};

} // namespace

class DwarfSymbolizer::Impl {
  public:
    Impl() {
        elf_version(EV_CURRENT);
        dwfl_.reset(dwfl_begin(&offline_callbacks));
        if (!dwfl_)
            throw SymbolizeError(fmt::format("cannot initialise libdwfl: {}", dwfl_errmsg(-1)));
    }

    std::size_t add_module(const std::string& path, std::uint64_t start, std::uint64_t end,
                           std::uint64_t bias) {
        if (start >= end)
            throw SymbolizeError(
                fmt::format("{}: empty address range [{:#x}, {:#x})", path, start, end));
        for (const Module& m : modules_) {
            if (start < m.end && m.start < end)
                throw SymbolizeError(
                    fmt::format("{}: address range [{:#x}, {:#x}) overlaps a registered module",
                                path, start, end));
        }
        FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd.get() < 0)
            throw SymbolizeError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
        const GElf_Ehdr ehdr = read_elf_header(path, fd.get());
        // libdwfl ignores the bias of an ET_EXEC file; a non-zero one means the caller's
        // module description does not match this file.
        if (ehdr.e_type == ET_EXEC && bias != 0)
            throw SymbolizeError(fmt::format(
                "{}: load bias {:#x} given for a fixed-address (ET_EXEC) file", path, bias));

        modules_.push_back({path, start, end, bias, ehdr.e_machine == EM_ARM});
        // A new module can resolve addresses that were unknown before.
        for (auto& cache : cache_)
            cache.clear();
        return modules_.size() - 1;
    }

    void add_known_symbols(std::size_t module, ModuleSymbols known) {
        Module& m = modules_.at(module);
        known.merge(m.symbols); // what this run looked up already wins
        m.symbols = std::move(known);
        for (auto& cache : cache_)
            cache.clear();
    }

    const ModuleSymbols& module_symbols(std::size_t module) const {
        return modules_.at(module).symbols;
    }
    bool module_symbols_grew(std::size_t module) const { return modules_.at(module).symbols_grew; }

    Symbolization symbolize(std::uint64_t addr, bool is_return_address) {
        auto& cache = cache_[is_return_address ? 1 : 0];
        if (auto it = cache.find(addr); it != cache.end())
            return it->second;
        Symbolization result = lookup(addr, is_return_address);
        cache.emplace(addr, result);
        return result;
    }

  private:
    Module* find_module(std::uint64_t addr) {
        for (Module& m : modules_) {
            if (addr >= m.start && addr < m.end)
                return &m;
        }
        return nullptr;
    }

    static Symbolization lookup_in(Module& module, Dwarf_Addr pc) {
        Dwfl_Module* mod = module.dwfl_module;
        Symbolization result;

        Dwarf_Addr cu_bias = 0;
        Dwarf_Die* cudie = dwfl_module_addrdie(mod, pc, &cu_bias);
        std::vector<Dwarf_Die> functions;
        SourceLocation innermost;
        if (cudie != nullptr) {
            functions = module.scope_index(cudie).scopes_at(pc - cu_bias);
            if (Dwarf_Line* line = dwarf_getsrc_die(cudie, pc - cu_bias)) {
                int lineno = 0;
                dwarf_lineno(line, &lineno);
                innermost.line = lineno > 0 ? static_cast<unsigned>(lineno) : 0;
                innermost.file = path_in_cu(dwarf_linesrc(line, nullptr, nullptr), cudie);
            }
        }

        if (functions.empty()) {
            // No function DIE covers pc (no debug info, or padding between functions): the
            // symbol table still names static functions.
            if (const char* sym = dwfl_module_addrname(mod, pc))
                innermost.function = demangle(sym);
            if (!innermost.function.empty() || !innermost.file.empty())
                result.levels.push_back(std::move(innermost));
            return result;
        }

        result.levels.reserve(functions.size());
        for (std::size_t i = 0; i < functions.size(); ++i) {
            SourceLocation level;
            if (i == 0)
                level = std::move(innermost);
            else
                read_call_site(&functions[i - 1], level);
            level.function = function_name(&functions[i]);
            result.levels.push_back(std::move(level));
        }
        SourceLocation& outermost = result.levels.back();
        if (outermost.function.empty()) {
            if (const char* sym = dwfl_module_addrname(mod, pc))
                outermost.function = demangle(sym);
        }
        return result;
    }

    // Hands the module to libdwfl (which reads its symbol table and, at the first address
    // lookup, its DWARF). Once only; a module libdwfl refuses resolves nothing.
    Dwfl_Module* reported(Module& module) {
        if (module.reported)
            return module.dwfl_module;
        module.reported = true;
        FileDescriptor fd(::open(module.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd.get() < 0)
            return nullptr;
        dwfl_report_begin_add(dwfl_.get());
        // add_p_vaddr = true: the module's bias is exactly `bias`, whatever the first
        // PT_LOAD's p_vaddr (prelinked libraries have a non-zero one).
        module.dwfl_module = dwfl_report_elf(dwfl_.get(), module.path.c_str(), module.path.c_str(),
                                             fd.get(), module.bias, true);
        dwfl_report_end(dwfl_.get(), nullptr, nullptr);
        if (module.dwfl_module != nullptr)
            fd.release(); // libdwfl owns it now
        return module.dwfl_module;
    }

    Symbolization lookup(std::uint64_t addr, bool is_return_address) {
        Module* module = find_module(addr);
        if (module == nullptr)
            return {};
        Dwarf_Addr pc = addr;
        if (module->clear_thumb_bit)
            pc &= ~Dwarf_Addr{1};
        // A return address points after the call, possibly into the next line or function.
        if (is_return_address && pc > module->start)
            pc -= 1;
        const std::uint64_t in_file = pc - module->bias;
        if (auto known = module->symbols.find(in_file); known != module->symbols.end())
            return known->second;
        if (reported(*module) == nullptr)
            return {}; // not kept: nothing was learnt about the file
        Symbolization result = lookup_in(*module, pc);
        module->symbols.emplace(in_file, result);
        module->symbols_grew = true;
        return result;
    }

    std::unique_ptr<Dwfl, DwflDeleter> dwfl_;
    std::vector<Module> modules_;
    // Indexed by is_return_address: the same value means different things in each.
    std::unordered_map<std::uint64_t, Symbolization> cache_[2];
};

DwarfSymbolizer::DwarfSymbolizer() : impl_(std::make_unique<Impl>()) {}
DwarfSymbolizer::~DwarfSymbolizer() = default;
DwarfSymbolizer::DwarfSymbolizer(DwarfSymbolizer&&) noexcept = default;
DwarfSymbolizer& DwarfSymbolizer::operator=(DwarfSymbolizer&&) noexcept = default;

std::size_t DwarfSymbolizer::add_module(const std::string& elf_path, std::uint64_t start,
                                        std::uint64_t end, std::uint64_t bias) {
    return impl_->add_module(elf_path, start, end, bias);
}

void DwarfSymbolizer::add_known_symbols(std::size_t module, ModuleSymbols known) {
    impl_->add_known_symbols(module, std::move(known));
}

const ModuleSymbols& DwarfSymbolizer::module_symbols(std::size_t module) const {
    return impl_->module_symbols(module);
}

bool DwarfSymbolizer::module_symbols_grew(std::size_t module) const {
    return impl_->module_symbols_grew(module);
}

Symbolization DwarfSymbolizer::symbolize(std::uint64_t addr, bool is_return_address) {
    return impl_->symbolize(addr, is_return_address);
}

} // namespace tlsheap::symbolize
