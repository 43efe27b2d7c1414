#include "symbolize/dwarf_symbolizer.h"
#include "symbolize_fixture.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <fstream>
#include <gelf.h>
#include <gtest/gtest.h>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace tlsheap::symbolize {

// Readable failure messages for EXPECT_EQ on levels.
void PrintTo(const SourceLocation& loc, std::ostream* os) {
    *os << "{" << (loc.function.empty() ? "?" : loc.function) << " at "
        << (loc.file.empty() ? "?" : loc.file) << ":" << loc.line << "}";
}

namespace {

const std::string kSource = TLSHEAP_FIXTURE_SOURCE;

// The line of the fixture source tagged "@line:<tag>"; the tag must occur exactly once.
unsigned tagged_line(const std::string& tag) {
    return tagged_fixture_line(kSource, tag);
}

SourceLocation at(const std::string& function, const std::string& tag) {
    return {function, kSource, tagged_line(tag)};
}

// Layout and function symbols of an ELF file, read with libelf, independently of the
// symbolizer.
struct ElfFacts {
    std::uint64_t vaddr_min = UINT64_MAX;
    std::uint64_t vaddr_max = 0;
    unsigned machine = 0;
    std::map<std::string, std::uint64_t> functions; // name -> st_value
};

ElfFacts read_elf_facts(const std::string& path) {
    ElfFacts facts;
    elf_version(EV_CURRENT);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << path;
    if (fd < 0)
        return facts;
    Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
    GElf_Ehdr ehdr;
    if (elf != nullptr && gelf_getehdr(elf, &ehdr) != nullptr) {
        facts.machine = ehdr.e_machine;
        size_t phnum = 0;
        elf_getphdrnum(elf, &phnum);
        for (size_t i = 0; i < phnum; ++i) {
            GElf_Phdr ph;
            if (gelf_getphdr(elf, static_cast<int>(i), &ph) == nullptr || ph.p_type != PT_LOAD)
                continue;
            facts.vaddr_min = std::min<std::uint64_t>(facts.vaddr_min, ph.p_vaddr);
            facts.vaddr_max = std::max<std::uint64_t>(facts.vaddr_max, ph.p_vaddr + ph.p_memsz);
        }
        Elf_Scn* scn = nullptr;
        while ((scn = elf_nextscn(elf, scn)) != nullptr) {
            GElf_Shdr shdr;
            if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_SYMTAB ||
                shdr.sh_entsize == 0)
                continue;
            Elf_Data* data = elf_getdata(scn, nullptr);
            for (size_t i = 0; data != nullptr && i < shdr.sh_size / shdr.sh_entsize; ++i) {
                GElf_Sym sym;
                if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr ||
                    GELF_ST_TYPE(sym.st_info) != STT_FUNC)
                    continue;
                if (const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name))
                    facts.functions[name] = sym.st_value;
            }
        }
    }
    EXPECT_NE(facts.machine, 0u) << "cannot read ELF file " << path;
    elf_end(elf);
    ::close(fd);
    return facts;
}

// Return addresses of the calls to `callee` made in the code of function `caller`, from the
// DW_TAG_call_site entries GCC emits at -O2 -g (DW_AT_call_return_pc, DWARF 5), read with
// libdw. For fixtures the tests cannot run, these stand in for recorded return addresses.
class CallSiteFinder {
  public:
    CallSiteFinder(const std::string& caller, const std::string& callee)
        : caller_(caller), callee_(callee) {}

    std::vector<std::uint64_t> find(const std::string& path) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        Dwarf* dwarf = fd >= 0 ? dwarf_begin(fd, DWARF_C_READ) : nullptr;
        EXPECT_NE(dwarf, nullptr) << "no DWARF in " << path;
        Dwarf_Off offset = 0, next = 0;
        size_t header_size = 0;
        while (dwarf != nullptr &&
               dwarf_nextcu(dwarf, offset, &next, &header_size, nullptr, nullptr, nullptr) == 0) {
            Dwarf_Die cu;
            if (dwarf_offdie(dwarf, offset + header_size, &cu) != nullptr)
                visit(&cu, false);
            offset = next;
        }
        if (dwarf != nullptr)
            dwarf_end(dwarf);
        if (fd >= 0)
            ::close(fd);
        return return_pcs_;
    }

  private:
    void visit(Dwarf_Die* parent, bool in_caller) {
        Dwarf_Die child;
        if (dwarf_child(parent, &child) != 0)
            return;
        do {
            bool inside = in_caller;
            const char* name = dwarf_diename(&child);
            if (dwarf_tag(&child) == DW_TAG_subprogram)
                inside = name != nullptr && name == caller_ && dwarf_hasattr(&child, DW_AT_low_pc);
            if (inside && dwarf_tag(&child) == DW_TAG_call_site)
                record(&child);
            visit(&child, inside);
        } while (dwarf_siblingof(&child, &child) == 0);
    }

    void record(Dwarf_Die* call_site) {
        Dwarf_Attribute attr;
        Dwarf_Die origin;
        Dwarf_Addr return_pc = 0;
        if (dwarf_formref_die(dwarf_attr(call_site, DW_AT_call_origin, &attr), &origin) ==
                nullptr ||
            dwarf_diename(&origin) == nullptr || dwarf_diename(&origin) != callee_)
            return;
        if (dwarf_formaddr(dwarf_attr(call_site, DW_AT_call_return_pc, &attr), &return_pc) == 0)
            return_pcs_.push_back(return_pc);
    }

    std::string caller_;
    std::string callee_;
    std::vector<std::uint64_t> return_pcs_;
};

// ---------------------------------------------------------------------------------------
// Fixtures the tests can run: the host build, and the i386 one when the kernel runs it.

struct RunnableFixture {
    const char* name;
    std::string path;
    std::string missing_package;
    bool must_run; // the host fixture must run; an i386 one may not on some kernels
    // Where the kernel runs no 32-bit x86 programs (ia32_emulation=off), the
    // i386 fixture runs under qemu-user, as tlsheap's ilp32 recorder does.
    const char* emulator = nullptr;
};

void PrintTo(const RunnableFixture& f, std::ostream* os) {
    *os << f.name;
}

// A fixture whose cross compiler is missing: skipped here, but on CI (.ci/run
// sets TLSHEAP_REQUIRE_ALL_TESTS) every test must run, so it fails there.
void skip_or_fail_without_compiler(const std::string& name, const std::string& package) {
    const std::string why =
        "no " + name + " compiler to build the fixture; install " + package + " and re-run cmake";
    if (std::getenv("TLSHEAP_REQUIRE_ALL_TESTS") != nullptr)
        FAIL() << why;
    GTEST_SKIP() << why;
}

class RunnableFixtureTest : public ::testing::TestWithParam<RunnableFixture> {
  protected:
    void SetUp() override {
        const RunnableFixture& fixture = GetParam();
        if (fixture.path.empty())
            return skip_or_fail_without_compiler(fixture.name, fixture.missing_package);
        auto ran = run_fixture(fixture.path);
        if (!ran && fixture.emulator != nullptr)
            ran = run_fixture(std::string(fixture.emulator) + " " + fixture.path);
        if (!ran) {
            if (fixture.must_run)
                FAIL() << "cannot run " << fixture.path;
            GTEST_SKIP() << "this host cannot run " << fixture.name << " binaries (" << fixture.path
                         << "), natively or under " << fixture.emulator;
        }
        run_ = *ran;
        symbolizer_.add_module(fixture.path, run_.start, run_.end, run_.bias);
    }

    std::uint64_t return_address(const std::string& function) {
        auto it = run_.return_addresses.find(function);
        EXPECT_NE(it, run_.return_addresses.end()) << "fixture printed no " << function;
        return it == run_.return_addresses.end() ? 0 : it->second;
    }

    FixtureRun run_;
    DwarfSymbolizer symbolizer_;
};

TEST_P(RunnableFixtureTest, StaticNoinlineFunction) {
    Symbolization s = symbolizer_.symbolize(return_address("static_noinline"));
    EXPECT_TRUE(s.resolved());
    EXPECT_EQ(s.levels, (std::vector{at("static_noinline", "static_noinline_call")}));
}

TEST_P(RunnableFixtureTest, AlwaysInlineFunctionInlinedIntoStaticFunction) {
    Symbolization s = symbolizer_.symbolize(return_address("static_with_inline"));
    EXPECT_TRUE(s.resolved());
    EXPECT_EQ(s.levels, (std::vector{at("inlined_leaf", "inlined_leaf_call"),
                                     at("static_with_inline", "static_with_inline_call")}));
}

TEST_P(RunnableFixtureTest, NestedInlineLevelsEachWithTheirCallLine) {
    Symbolization s = symbolizer_.symbolize(return_address("static_with_nested_inline"));
    EXPECT_EQ(s.levels,
              (std::vector{at("inlined_leaf", "inlined_leaf_call"),
                           at("inlined_middle", "inlined_middle_call"),
                           at("static_with_nested_inline", "static_with_nested_inline_call")}));
}

TEST_P(RunnableFixtureTest, ReturnAddressIsLookedUpAtTheCallInstruction) {
    for (const auto& [function, ra] : run_.return_addresses) {
        EXPECT_EQ(symbolizer_.symbolize(ra, true), symbolizer_.symbolize(ra - 1, false))
            << function;
    }
}

TEST_P(RunnableFixtureTest, RepeatedLookupsGiveTheSameResult) {
    std::uint64_t ra = return_address("static_with_nested_inline");
    Symbolization first = symbolizer_.symbolize(ra);
    EXPECT_EQ(symbolizer_.symbolize(ra), first);
    EXPECT_EQ(symbolizer_.symbolize(ra), first);
}

TEST_P(RunnableFixtureTest, AddressesOutsideTheModuleAreEmpty) {
    for (std::uint64_t addr : {std::uint64_t{0}, std::uint64_t{1}, run_.start - 1, run_.end,
                               run_.end + 0x10000, UINT64_MAX}) {
        for (bool is_return_address : {true, false}) {
            Symbolization s = symbolizer_.symbolize(addr, is_return_address);
            EXPECT_TRUE(s.levels.empty()) << std::hex << addr;
            EXPECT_FALSE(s.resolved()) << std::hex << addr;
        }
    }
}

// Every address of the module, code or not: nothing throws or crashes, the fixture's code
// resolves, and tens of thousands of lookups stay fast.
TEST_P(RunnableFixtureTest, SweepOfTheWholeModule) {
    std::size_t resolved = 0;
    std::size_t lookups = 0;
    auto begin = std::chrono::steady_clock::now();
    for (std::uint64_t addr = run_.start; addr < run_.end; ++addr) {
        for (bool is_return_address : {true, false}) {
            Symbolization s = symbolizer_.symbolize(addr, is_return_address);
            resolved += s.resolved() ? 1 : 0;
            ++lookups;
        }
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    std::printf("%zu lookups in %.3f s, %zu resolved\n", lookups, seconds, resolved);
    EXPECT_GT(resolved, 100u);
    EXPECT_EQ(symbolizer_.symbolize(return_address("static_noinline")).levels,
              (std::vector{at("static_noinline", "static_noinline_call")}));
}

INSTANTIATE_TEST_SUITE_P(
    Builds, RunnableFixtureTest,
    ::testing::Values(RunnableFixture{"host", TLSHEAP_FIXTURE_HOST, "", true},
                      RunnableFixture{"host_nopie", TLSHEAP_FIXTURE_HOST_NOPIE, "", true},
                      RunnableFixture{"i386", TLSHEAP_FIXTURE_I386, TLSHEAP_FIXTURE_I386_MISSING,
                                      false, "qemu-i386"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------
// Host fixture without DWARF, and module registration errors.

TEST(DwarfSymbolizerTest, StaticFunctionsResolveFromTheSymbolTableWithoutDebugInfo) {
    auto run = run_fixture(TLSHEAP_FIXTURE_HOST);
    ASSERT_TRUE(run);
    DwarfSymbolizer symbolizer;
    // The stripped copy has the same code at the same addresses as the binary that ran.
    symbolizer.add_module(TLSHEAP_FIXTURE_HOST_NODEBUG, run->start, run->end, run->bias);
    Symbolization s = symbolizer.symbolize(run->return_addresses.at("static_noinline"));
    EXPECT_TRUE(s.resolved());
    EXPECT_EQ(s.levels, (std::vector{SourceLocation{"static_noinline", "", 0}}));
    // Inlined code is attributed to the function it was inlined into.
    s = symbolizer.symbolize(run->return_addresses.at("static_with_inline"));
    EXPECT_EQ(s.levels, (std::vector{SourceLocation{"static_with_inline", "", 0}}));
}

TEST(DwarfSymbolizerTest, NoModulesMeansEmptyResults) {
    DwarfSymbolizer symbolizer;
    EXPECT_TRUE(symbolizer.symbolize(0x401000).levels.empty());
    EXPECT_TRUE(symbolizer.symbolize(0x401000, false).levels.empty());
}

// The message of the SymbolizeError thrown by f, or "" if none.
template <typename F>
std::string error_of(F f) {
    try {
        f();
    } catch (const SymbolizeError& e) {
        return e.what();
    }
    return "";
}

TEST(DwarfSymbolizerTest, AddModuleRejectsMissingAndNonElfFiles) {
    DwarfSymbolizer symbolizer;
    const std::string missing = "/nonexistent/libmbedtls.so";
    std::string message = error_of([&] { symbolizer.add_module(missing, 0x1000, 0x2000, 0); });
    EXPECT_NE(message.find(missing), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;

    message = error_of([&] { symbolizer.add_module(kSource, 0x1000, 0x2000, 0); });
    EXPECT_NE(message.find(kSource), std::string::npos) << message;

    // A failed registration leaves the symbolizer usable.
    EXPECT_TRUE(symbolizer.symbolize(0x1800).levels.empty());
}

TEST(DwarfSymbolizerTest, AddModuleRejectsABiasForAFixedAddressFile) {
    DwarfSymbolizer symbolizer;
    const std::string nopie = TLSHEAP_FIXTURE_HOST_NOPIE;
    std::string message =
        error_of([&] { symbolizer.add_module(nopie, 0x10400000, 0x10500000, 0x10000000); });
    EXPECT_NE(message.find(nopie), std::string::npos) << message;
}

TEST(DwarfSymbolizerTest, AddModuleRejectsEmptyAndOverlappingRanges) {
    DwarfSymbolizer symbolizer;
    const std::string host = TLSHEAP_FIXTURE_HOST;
    EXPECT_NE(error_of([&] { symbolizer.add_module(host, 0x2000, 0x2000, 0x2000); }), "");
    ASSERT_EQ(error_of([&] { symbolizer.add_module(host, 0x10000, 0x20000, 0x10000); }), "");
    std::string message = error_of([&] { symbolizer.add_module(host, 0x18000, 0x28000, 0x18000); });
    EXPECT_NE(message.find(host), std::string::npos) << message;
}

// ---------------------------------------------------------------------------------------
// Fixtures for other architectures, which the tests only read: addresses come from the
// symbol table and the module is placed at an arbitrary bias, as a recording would.

struct CrossFixture {
    const char* name;
    std::string path;
    std::string missing_package;
};

void PrintTo(const CrossFixture& f, std::ostream* os) {
    *os << f.name;
}

class CrossArchitectureTest : public ::testing::TestWithParam<CrossFixture> {
  protected:
    static constexpr std::uint64_t kBias = 0x40000000;

    void SetUp() override {
        const CrossFixture& fixture = GetParam();
        if (fixture.path.empty())
            return skip_or_fail_without_compiler(fixture.name, fixture.missing_package);
        facts_ = read_elf_facts(fixture.path);
        ASSERT_LT(facts_.vaddr_min, facts_.vaddr_max);
        symbolizer_.add_module(fixture.path, kBias + facts_.vaddr_min, kBias + facts_.vaddr_max,
                               kBias);
    }

    // Runtime address of a function's entry, as the symbol table gives it (on Thumb code,
    // with bit 0 set).
    std::uint64_t entry(const std::string& function) {
        auto it = facts_.functions.find(function);
        EXPECT_NE(it, facts_.functions.end()) << function << " not in the symbol table";
        return it == facts_.functions.end() ? 0 : kBias + it->second;
    }

    ElfFacts facts_;
    DwarfSymbolizer symbolizer_;
};

TEST_P(CrossArchitectureTest, StaticFunctionEntryHasItsNameAndFirstLine) {
    Symbolization s = symbolizer_.symbolize(entry("static_one_line"), false);
    EXPECT_TRUE(s.resolved());
    EXPECT_EQ(s.levels, (std::vector{at("static_one_line", "static_one_line")}));
    if (facts_.machine == EM_ARM) {
        // Thumb code: the symbol value has bit 0 set, and the symbolizer must ignore it.
        std::uint64_t odd = entry("static_one_line");
        EXPECT_EQ(odd & 1, 1u) << "expected Thumb code (Debian armhf default)";
        EXPECT_EQ(symbolizer_.symbolize(odd & ~std::uint64_t{1}, false), s);
    }
}

TEST_P(CrossArchitectureTest, StaticNoinlineFunctionEntry) {
    Symbolization s = symbolizer_.symbolize(entry("static_noinline"), false);
    ASSERT_EQ(s.levels.size(), 1u);
    EXPECT_EQ(s.levels[0].function, "static_noinline");
    EXPECT_EQ(s.levels[0].file, kSource);
    // At -O2 the entry maps to one of the function's first statements, which one is the
    // compiler's choice per target.
    unsigned first = tagged_line("static_noinline_entry");
    EXPECT_GE(s.levels[0].line, first);
    EXPECT_LE(s.levels[0].line, first + 3);
}

// The same inline levels as for a recorded run, at return addresses taken from the DWARF
// call-site entries.
TEST_P(CrossArchitectureTest, InlineLevelsAtCallSites) {
    const std::map<std::string, std::vector<SourceLocation>> expected = {
        {"static_noinline", {at("static_noinline", "static_noinline_call")}},
        {"static_with_inline",
         {at("inlined_leaf", "inlined_leaf_call"),
          at("static_with_inline", "static_with_inline_call")}},
        {"static_with_nested_inline",
         {at("inlined_leaf", "inlined_leaf_call"), at("inlined_middle", "inlined_middle_call"),
          at("static_with_nested_inline", "static_with_nested_inline_call")}},
    };
    for (const auto& [caller, levels] : expected) {
        std::vector<std::uint64_t> return_pcs =
            CallSiteFinder(caller, "return_address_of_call").find(GetParam().path);
        ASSERT_EQ(return_pcs.size(), 1u) << caller;
        std::uint64_t return_address = kBias + return_pcs[0];
        EXPECT_EQ(symbolizer_.symbolize(return_address).levels, levels) << caller;
        if (facts_.machine == EM_ARM) {
            // A return address straight from LR in Thumb code has bit 0 set.
            EXPECT_EQ(symbolizer_.symbolize(return_address | 1).levels, levels) << caller;
        }
    }
}

TEST_P(CrossArchitectureTest, SweepOfTheWholeModule) {
    std::size_t resolved = 0;
    for (std::uint64_t addr = kBias + facts_.vaddr_min; addr < kBias + facts_.vaddr_max; ++addr)
        resolved += symbolizer_.symbolize(addr).resolved() ? 1 : 0;
    EXPECT_GT(resolved, 100u);
}

INSTANTIATE_TEST_SUITE_P(
    Builds, CrossArchitectureTest,
    ::testing::Values(CrossFixture{"i386", TLSHEAP_FIXTURE_I386, TLSHEAP_FIXTURE_I386_MISSING},
                      CrossFixture{"arm", TLSHEAP_FIXTURE_ARM, TLSHEAP_FIXTURE_ARM_MISSING}),
    [](const auto& info) { return std::string(info.param.name); });

} // namespace
} // namespace tlsheap::symbolize
