#pragma once

// Turns runtime addresses from a trace into function names and file:line, inline levels
// included, using the DWARF and symbol tables of the recorded process's ELF files.
// It reads ELF files of any architecture elfutils knows (x86-64, i386, ARM, ...),
// independently of the host's.

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tlsheap::symbolize {

class SymbolizeError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// One inline level.
struct SourceLocation {
    std::string function; // demangled if C++; "" if unknown
    std::string file;     // absolute when DWARF gives a compilation directory; "" if unknown
    unsigned line = 0;    // 0 if unknown

    bool operator==(const SourceLocation&) const = default;
};

struct Symbolization {
    // Innermost inline level first, the containing real (out-of-line) function last.
    // Level 0 has the file:line of the address itself; each outer level has the line
    // from which the level inside it was inlined. Empty when nothing is known.
    std::vector<SourceLocation> levels;

    // The innermost function is known by name.
    bool resolved() const { return !levels.empty() && !levels.front().function.empty(); }

    bool operator==(const Symbolization&) const = default;
};

// What one module's lookups gave, by the address looked up relative to the module's ELF file
// (runtime address - load bias, after a return address's step back into the call). The same
// file gives the same answers wherever it was loaded, so these can be kept between runs.
using ModuleSymbols = std::map<std::uint64_t, Symbolization>;

// Not thread-safe: one instance per thread, or external locking.
class DwarfSymbolizer {
  public:
    DwarfSymbolizer();
    ~DwarfSymbolizer();
    DwarfSymbolizer(DwarfSymbolizer&&) noexcept;
    DwarfSymbolizer& operator=(DwarfSymbolizer&&) noexcept;
    DwarfSymbolizer(const DwarfSymbolizer&) = delete;
    DwarfSymbolizer& operator=(const DwarfSymbolizer&) = delete;

    // Registers one loaded module of the recorded process: the ELF file on this host, the
    // address range [start, end) it occupied in the recorded process, and its load bias
    // (runtime address - ELF virtual address; 0 for non-PIE executables).
    // Throws SymbolizeError (one line naming the file) if the file cannot be opened or read
    // as ELF, if the range is empty or overlaps a registered module, or if a non-zero bias
    // is given for a fixed-address (ET_EXEC) file.
    // Returns the module's number (0 for the first registered, and so on). Its symbol tables
    // and DWARF are read at the first lookup that needs them: a module no stack goes through,
    // or whose lookups are all known (add_known_symbols), costs nothing more than its header.
    std::size_t add_module(const std::string& elf_path, std::uint64_t start, std::uint64_t end,
                           std::uint64_t bias);

    // Lookups of a module known beforehand (kept from an earlier run of the same file): they
    // are answered from `known`, without reading the module's DWARF.
    void add_known_symbols(std::size_t module, ModuleSymbols known);
    // The module's lookups so far, the known ones included.
    const ModuleSymbols& module_symbols(std::size_t module) const;
    // Whether a lookup in the module was not known beforehand (its DWARF was asked).
    bool module_symbols_grew(std::size_t module) const;

    // addr is a runtime address from the trace. A return address is looked up at addr - 1,
    // inside the call instruction. Never throws for a bad address: outside every module the
    // result is empty; in a module without debug info it holds the symbol-table name only.
    // Results are cached per address.
    Symbolization symbolize(std::uint64_t addr, bool is_return_address = true);

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace tlsheap::symbolize
